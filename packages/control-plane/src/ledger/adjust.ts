import type { CurrencyDefinition } from '@tollgate/catalog';
import { validationError } from '@tollgate/core';
import type { GrantRow, StoreTransaction } from '../store/store.js';
import { defaultBurnOrder, sortByBurnOrder } from './burn-order.js';
import { assertWithinLimit, insufficient, overageRoom, planDraws } from './debit.js';
import type { EntryContext } from './ledger.js';
import { appendEntry, assertLedgerInvariants, isSpendable, payDebt } from './ledger.js';

export interface AdjustmentRequest {
  customerId: string;
  currency: CurrencyDefinition;
  /** Signed and never 0: credits added (> 0) or taken away (< 0). */
  amount: number;
  /** The category of the grant a positive adjustment creates. */
  category: GrantRow['category'];
  /** The unique source of that grant: `adjustment:<customer>:<key>@<instant>`. */
  sourceKey: string;
}

export interface AdjustmentResult {
  /** The grant a positive adjustment created; null for a negative one. */
  grant: GrantRow | null;
  /** One line per grant touched; `grantId` null for a debt paid or incurred. */
  lines: { grantId: number | null; amount: number }[];
  balance: number;
}

/**
 * An operator's correction, written as `adjustment` entries with the reason in the
 * context. A positive one arrives as a new grant (no expiry, priority 0, cost basis 0),
 * paying a debt first like any grant. A negative one takes credits back from the
 * spendable grants in burn order, one entry per grant; it obeys the currency's limit as
 * a debit request does (hard: never below zero; soft: not past the overage cap) and is
 * refused whole when it cannot, writing nothing. It is not a debit: nothing refunds it.
 */
export async function adjustCredits(
  tx: StoreTransaction,
  request: AdjustmentRequest,
  context: EntryContext,
): Promise<AdjustmentResult> {
  if (request.amount > 0) return addCredits(tx, request, context);
  const { customerId, currency } = request;
  const amount = -request.amount;
  const grants = (await tx.listOpenGrants(customerId)).filter(
    (grant) => grant.currency === currency.key && isSpendable(grant, context.atMs),
  );
  const burnOrder = currency.burnOrder.length > 0 ? currency.burnOrder : defaultBurnOrder;
  const draws = planDraws(sortByBurnOrder(grants, burnOrder), amount);
  const fromGrants = draws.reduce((total, draw) => total + draw.taken, 0);
  const debtBefore = await tx.sumDebt(customerId, currency.key);
  const overage = amount - fromGrants;
  if (overage > overageRoom(currency, debtBefore)) throw insufficient(currency, amount);

  const lines: AdjustmentResult['lines'] = [];
  for (const { grant, taken } of draws) {
    await tx.updateGrant(grant.id, { remaining: grant.remaining - taken, expired: false });
    await appendEntry(tx, grant, 'adjustment', -taken, context);
    lines.push({ grantId: grant.id, amount: -taken });
  }
  if (overage > 0) {
    await appendEntry(
      tx,
      { id: null, customerId, currency: currency.key },
      'adjustment',
      -overage,
      context,
    );
    lines.push({ grantId: null, amount: -overage });
  }
  const balance = await tx.addToBalance(customerId, currency.key, -amount);
  assertWithinLimit(currency, { balance, debt: debtBefore + overage }, customerId);
  const touched = draws.map((draw) => draw.grant.id);
  await assertLedgerInvariants(tx, customerId, currency.key, touched);
  return { grant: null, lines, balance };
}

async function addCredits(
  tx: StoreTransaction,
  request: AdjustmentRequest,
  context: EntryContext,
): Promise<AdjustmentResult> {
  const { customerId, currency, amount } = request;
  const balanceBefore = await tx.getBalance(customerId, currency.key);
  if (!Number.isSafeInteger(balanceBefore + amount)) {
    throw validationError('amount', 'the balance would exceed 2^53 - 1');
  }
  const inserted = await tx.insertGrant({
    customerId,
    currency: currency.key,
    category: request.category,
    amount,
    remaining: amount,
    priority: 0,
    effectiveAtMs: context.atMs,
    expiresAtMs: null,
    expired: false,
    costBasis: 0,
    costBasisCurrency: 'USD',
    sourceKey: request.sourceKey,
    subscriptionId: null,
    recurringSlot: null,
    periodIndex: null,
    voidedAtMs: null,
  });
  await appendEntry(tx, inserted, 'adjustment', amount, context);
  await tx.addToBalance(customerId, currency.key, amount);
  const grant = await payDebt(tx, inserted, context);
  const lines: AdjustmentResult['lines'] = [{ grantId: grant.id, amount }];
  await assertLedgerInvariants(tx, customerId, currency.key, [grant.id]);
  const balance = await tx.getBalance(customerId, currency.key);
  return { grant, lines, balance };
}
