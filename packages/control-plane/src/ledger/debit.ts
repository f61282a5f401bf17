import { TollgateError } from '@tollgate/core';
import type { CurrencyDefinition } from '@tollgate/catalog';
import type { DebitRow, GrantRow, StoreTransaction } from '../store/store.js';
import { defaultBurnOrder, sortByBurnOrder } from './burn-order.js';
import type { EntryContext } from './ledger.js';
import {
  appendEntry,
  assertAmount,
  assertLedgerInvariants,
  isSpendable,
  ledgerInternal,
} from './ledger.js';

/**
 * `deny`: a request asking to spend (an admin debit). It is all or nothing: when the
 * balance cannot cover it under the currency's limit, it is refused and writes nothing.
 * `record`: usage that already happened (a usage event, a settled reservation). It is
 * charged as far as the limit allows and the rest is recorded as a shortfall.
 */
export type DebitMode = 'deny' | 'record';

export interface DebitRequest {
  customerId: string;
  currency: CurrencyDefinition;
  amount: number;
  mode: DebitMode;
}

export interface DebitResult {
  /** Null when the amount was 0: nothing was written. */
  debit: DebitRow | null;
  /** One line per grant drawn from, in burn order; `grantId` null for the overage. */
  lines: { grantId: number | null; amount: number }[];
  balance: number;
}

/**
 * Draws `amount` from the spendable grants in the currency's burn order, one debit entry
 * per grant touched. Under a soft limit, what the grants cannot cover becomes an overage
 * entry that names no grant, taking the balance below zero, up to the overage cap.
 */
export async function debitCredits(
  tx: StoreTransaction,
  request: DebitRequest,
  context: EntryContext,
): Promise<DebitResult> {
  const { customerId, currency, amount } = request;
  const balanceBefore = await tx.getBalance(customerId, currency.key);
  if (amount === 0) return { debit: null, lines: [], balance: balanceBefore };
  assertAmount(amount, 'a debit');

  const grants = (await tx.listOpenGrants(customerId)).filter(
    (grant) => grant.currency === currency.key && isSpendable(grant, context.atMs),
  );
  const burnOrder = currency.burnOrder.length > 0 ? currency.burnOrder : defaultBurnOrder;
  const draws = planDraws(sortByBurnOrder(grants, burnOrder), amount);
  const fromGrants = draws.reduce((total, draw) => total + draw.taken, 0);
  // The cap bounds the debt, not the balance: the balance also counts grants a debit may
  // not draw from yet (effective after `atMs`, when another process's clock ran ahead).
  const debtBefore = await tx.sumDebt(customerId, currency.key);
  const overage = Math.min(amount - fromGrants, overageRoom(currency, debtBefore));
  const shortfall = amount - fromGrants - overage;
  if (shortfall > 0 && request.mode === 'deny') throw insufficient(currency, amount);

  const debited = fromGrants + overage;
  const debit = await tx.insertDebit({
    customerId,
    currency: currency.key,
    requested: amount,
    debited,
    overage,
    shortfall,
    atMs: context.atMs,
    actor: context.actor,
    reference: context.reference ?? null,
    idempotencyKey: context.idempotencyKey ?? null,
  });
  const lines: DebitResult['lines'] = [];
  for (const { grant, taken } of draws) {
    await tx.updateGrant(grant.id, { remaining: grant.remaining - taken, expired: false });
    await appendEntry(tx, grant, 'debit', -taken, context, debit.id);
    lines.push({ grantId: grant.id, amount: taken });
  }
  if (overage > 0) {
    const debt = { id: null, customerId, currency: currency.key };
    await appendEntry(tx, debt, 'debit', -overage, context, debit.id);
    lines.push({ grantId: null, amount: overage });
  }

  const balance =
    debited === 0 ? balanceBefore : await tx.addToBalance(customerId, currency.key, -debited);
  assertWithinLimit(currency, { balance, debt: debtBefore + overage }, customerId);
  const touched = draws.map((draw) => draw.grant.id);
  await assertLedgerInvariants(tx, customerId, currency.key, touched);
  return { debit, lines, balance };
}

/** Takes from each grant in order until `amount` is covered or the grants run out. */
export function planDraws(grants: readonly GrantRow[], amount: number) {
  const draws: { grant: GrantRow; taken: number }[] = [];
  let left = amount;
  for (const grant of grants) {
    if (left === 0) break;
    const taken = Math.min(grant.remaining, left);
    draws.push({ grant, taken });
    left -= taken;
  }
  return draws;
}

/** How much more debt a debit may add: 0 when hard, the cap's rest when soft. */
export function overageRoom(currency: CurrencyDefinition, debt: number): number {
  if (currency.behavior === 'hard') return 0;
  if (currency.overageCapAmount === null) return Number.MAX_SAFE_INTEGER - debt;
  return Math.max(0, currency.overageCapAmount - debt);
}

/** No hard balance below zero or in debt; no soft debt or balance beyond the overage cap. */
export function assertWithinLimit(
  currency: CurrencyDefinition,
  after: { balance: number; debt: number },
  customerId: string,
): void {
  const debtMax = currency.behavior === 'hard' ? 0 : (currency.overageCapAmount ?? Infinity);
  if (after.balance < -debtMax) {
    throw ledgerInternal(`${currency.behavior} balance of ${customerId} went to ${after.balance}`);
  }
  if (after.debt > debtMax) {
    throw ledgerInternal(`${currency.behavior} debt of ${customerId} went to ${after.debt}`);
  }
}

export function insufficient(currency: CurrencyDefinition, amount: number): TollgateError {
  const limit = currency.behavior === 'hard' ? 'the balance' : 'the balance and its overage cap';
  return new TollgateError(
    'TOLLGATE_ERR_INSUFFICIENT_CREDITS',
    `amount: ${limit} cannot cover ${amount} ${currency.key}`,
    { field: 'amount' },
  );
}
