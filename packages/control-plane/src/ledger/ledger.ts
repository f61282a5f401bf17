import { TollgateError, validationError } from '@tollgate/core';
import type { BurnRule, LimitBehaviorName } from '@tollgate/catalog';
import type { GrantRow, LedgerEntryRow, StoreTransaction } from '../store/store.js';
import { sortByBurnOrder } from './burn-order.js';

/**
 * The credit ledger's three operations: grant, debit and expire. Each one appends entries
 * and updates the materialised grant remainders and balance inside the caller's
 * transaction, so a balance change is never half applied.
 *
 * Invariants, asserted after every change: a balance equals the sum of its entries; a
 * grant's remainder equals its amount plus the entries drawn against it; a hard-limited
 * balance never goes below zero.
 */
export interface EntryContext {
  atMs: number;
  actor: string;
  reference?: string | null;
  idempotencyKey?: string | null;
}

export type NewGrant = Omit<GrantRow, 'id' | 'remaining' | 'expired'>;

export async function grantCredits(
  tx: StoreTransaction,
  grant: NewGrant,
  context: EntryContext,
): Promise<GrantRow> {
  assertAmount(grant.amount, 'a grant');
  const balanceBefore = await tx.getBalance(grant.customerId, grant.currency);
  if (!Number.isSafeInteger(balanceBefore + grant.amount)) {
    throw validationError('amount', 'the balance would exceed 2^53 - 1');
  }
  const row = await tx.insertGrant({ ...grant, remaining: grant.amount, expired: false });
  await append(tx, row, 'grant', grant.amount, context);
  await tx.addToBalance(grant.customerId, grant.currency, grant.amount);

  // A soft-limited balance below zero is a debt that no grant carries. The new grant pays
  // it first: an adjustment cancels the debt and a debit draws the same amount from the
  // grant, so the balance is unchanged and the grant's remainder stays explainable.
  const debt = Math.min(grant.amount, Math.max(0, -balanceBefore));
  if (debt === 0) return row;
  await append(tx, { ...row, id: null }, 'adjustment', debt, context);
  await append(tx, row, 'debit', -debt, context);
  await tx.updateGrant(row.id, { remaining: grant.amount - debt, expired: false });
  return { ...row, remaining: grant.amount - debt };
}

export interface DebitRequest {
  customerId: string;
  currency: string;
  amount: number;
  behavior: LimitBehaviorName;
  burnOrder: readonly BurnRule[];
}

export interface DebitResult {
  debited: number;
  /** What a hard balance could not cover; always 0 under a soft limit. */
  shortfall: number;
  balance: number;
}

/**
 * Draws `amount` from the spendable grants in burn order, one debit entry per grant
 * touched. A soft limit records what the grants cannot cover as a debit that no grant
 * carries, taking the balance below zero; a hard limit debits what is there and reports
 * the rest as a shortfall.
 */
export async function debitCredits(
  tx: StoreTransaction,
  request: DebitRequest,
  context: EntryContext,
): Promise<DebitResult> {
  assertAmount(request.amount, 'a debit');
  const grants = (await tx.listGrants(request.customerId)).filter(
    (grant) => grant.currency === request.currency && isSpendable(grant, context.atMs),
  );

  let left = request.amount;
  for (const grant of sortByBurnOrder(grants, request.burnOrder)) {
    if (left === 0) break;
    const taken = Math.min(grant.remaining, left);
    await tx.updateGrant(grant.id, { remaining: grant.remaining - taken, expired: false });
    await append(tx, grant, 'debit', -taken, context);
    left -= taken;
  }

  const unattached = request.behavior === 'soft' ? left : 0;
  if (unattached > 0) {
    await append(tx, { ...request, id: null }, 'debit', -unattached, context);
  }
  const debited = request.amount - left + unattached;
  const balance = await tx.addToBalance(request.customerId, request.currency, -debited);
  if (request.behavior === 'hard' && balance < 0) {
    throw internal(`hard balance of ${request.customerId} went to ${balance}`);
  }
  return { debited, shortfall: left - unattached, balance };
}

/** Turns what is left of an expired grant into an expiry entry dated at its expiry. */
export async function expireGrant(
  tx: StoreTransaction,
  grant: GrantRow,
  actor: string,
): Promise<void> {
  if (grant.expiresAtMs === null || grant.expired) {
    throw internal(`grant ${grant.id} cannot expire`);
  }
  if (grant.remaining > 0) {
    await append(tx, grant, 'expiry', -grant.remaining, { atMs: grant.expiresAtMs, actor });
    await tx.addToBalance(grant.customerId, grant.currency, -grant.remaining);
  }
  await tx.updateGrant(grant.id, { remaining: 0, expired: true });
}

/** Spendable at `atMs`: effective, not yet expired (expiry is exclusive), not empty. */
export function isSpendable(grant: GrantRow, atMs: number): boolean {
  return (
    !grant.expired &&
    grant.remaining > 0 &&
    grant.effectiveAtMs <= atMs &&
    (grant.expiresAtMs === null || atMs < grant.expiresAtMs)
  );
}

async function append(
  tx: StoreTransaction,
  target: { id: number | null; customerId: string; currency: string },
  kind: LedgerEntryRow['kind'],
  amount: number,
  context: EntryContext,
): Promise<void> {
  await tx.appendLedgerEntry({
    customerId: target.customerId,
    currency: target.currency,
    grantId: target.id,
    kind,
    amount,
    atMs: context.atMs,
    actor: context.actor,
    reference: context.reference ?? null,
    idempotencyKey: context.idempotencyKey ?? null,
  });
}

function assertAmount(amount: number, what: string): void {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw internal(`${what} of ${amount} is not a positive safe integer`);
  }
}

function internal(detail: string): TollgateError {
  return new TollgateError('TOLLGATE_ERR_INTERNAL', 'The ledger refused an invalid change', {
    detail,
  });
}
