import { TollgateError, validationError } from '@tollgate/core';
import type { GrantRow, LedgerEntryRow, StoreTransaction } from '../store/store.js';

/**
 * The credit ledger's shared steps: granting, expiring, appending entries and checking the
 * invariants. Debits live in `debit.ts`, refunds and voids in `refund.ts`. Every operation
 * appends entries and updates the materialised grant remainders and balance inside the
 * caller's transaction, so a balance change is never half applied.
 *
 * Invariants, asserted after every operation (`assertLedgerInvariants`): a balance equals
 * the sum of its entries; the remainder of every grant the operation touched equals the
 * sum of the entries that name it; the debt is never negative.
 * A debt (what a soft balance went below zero) is carried by entries that name no grant.
 */
export interface EntryContext {
  atMs: number;
  actor: string;
  reference?: string | null;
  idempotencyKey?: string | null;
  reason?: string | null;
}

export type NewGrant = Omit<GrantRow, 'id' | 'remaining' | 'expired' | 'voidedAtMs'>;

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
  const inserted = await tx.insertGrant({
    ...grant,
    remaining: grant.amount,
    expired: false,
    voidedAtMs: null,
  });
  return creditGrant(tx, inserted, context);
}

/**
 * Records a grant that becomes effective later: the row is stored now with nothing in it
 * and no entry, so it is neither spendable nor counted in the balance; the rollover credits
 * it at its effective instant (`creditScheduledGrant`). Its source starts `scheduled:`.
 */
export async function scheduleGrant(tx: StoreTransaction, grant: NewGrant): Promise<GrantRow> {
  assertAmount(grant.amount, 'a grant');
  // Checked now as for an immediate grant; grants that arrive before the effective
  // instant can still leave no room for it (see the README's limitations).
  const balanceNow = await tx.getBalance(grant.customerId, grant.currency);
  if (!Number.isSafeInteger(balanceNow + grant.amount)) {
    throw validationError('amount', 'the balance would exceed 2^53 - 1');
  }
  if (!grant.sourceKey.startsWith('scheduled:')) throw ledgerInternal(`${grant.sourceKey}`);
  return tx.insertGrant({ ...grant, remaining: 0, expired: false, voidedAtMs: null });
}

/** Credits a scheduled grant at its effective instant, as if it had been granted then. */
export async function creditScheduledGrant(tx: StoreTransaction, grant: GrantRow, actor: string) {
  const balanceBefore = await tx.getBalance(grant.customerId, grant.currency);
  if (!Number.isSafeInteger(balanceBefore + grant.amount)) {
    throw ledgerInternal(`a balance past 2^53 - 1 from grant ${grant.id}`);
  }
  await tx.updateGrant(grant.id, { remaining: grant.amount, expired: false });
  await creditGrant(
    tx,
    { ...grant, remaining: grant.amount },
    { atMs: grant.effectiveAtMs, actor },
  );
}

/** The grant entry, the balance, the debt paid first, and the invariants. */
async function creditGrant(
  tx: StoreTransaction,
  grant: GrantRow,
  context: EntryContext,
): Promise<GrantRow> {
  await appendEntry(tx, grant, 'grant', grant.amount, context);
  await tx.addToBalance(grant.customerId, grant.currency, grant.amount);
  const row = await payDebt(tx, grant, context);
  await assertLedgerInvariants(tx, grant.customerId, grant.currency, [row.id]);
  return row;
}

/**
 * The overage of a soft-limited currency is a debt that no grant carries (`sumDebt`).
 * Credits arriving in a grant (a new one, or a refund into an old one) pay it first: an
 * adjustment that names no grant cancels the debt and a debit draws the same amount from
 * the grant, so the balance is unchanged and the grant's remainder stays explained by its
 * entries.
 */
export async function payDebt(
  tx: StoreTransaction,
  grant: GrantRow,
  context: EntryContext,
): Promise<GrantRow> {
  const debt = Math.min(grant.remaining, await tx.sumDebt(grant.customerId, grant.currency));
  if (debt === 0) return grant;
  await appendEntry(tx, { ...grant, id: null }, 'adjustment', debt, context);
  await appendEntry(tx, grant, 'debit', -debt, context);
  const remaining = grant.remaining - debt;
  await tx.updateGrant(grant.id, { remaining, expired: false });
  return { ...grant, remaining };
}

/** Turns what is left of an expired grant into an expiry entry dated at its expiry. */
export async function expireGrant(
  tx: StoreTransaction,
  grant: GrantRow,
  actor: string,
): Promise<void> {
  if (grant.expiresAtMs === null || grant.expired) {
    throw ledgerInternal(`grant ${grant.id} cannot expire`);
  }
  if (grant.remaining > 0) {
    await appendEntry(tx, grant, 'expiry', -grant.remaining, { atMs: grant.expiresAtMs, actor });
    await tx.addToBalance(grant.customerId, grant.currency, -grant.remaining);
  }
  await tx.updateGrant(grant.id, { remaining: 0, expired: true });
}

/** Spendable at `atMs`: effective, not expired (expiry is exclusive), not voided, not empty. */
export function isSpendable(grant: GrantRow, atMs: number): boolean {
  return isLive(grant, atMs) && grant.remaining > 0 && grant.effectiveAtMs <= atMs;
}

/** Live at `atMs`: neither expired nor voided, so credits may still be added to it. */
export function isLive(grant: GrantRow, atMs: number): boolean {
  return (
    !grant.expired &&
    grant.voidedAtMs === null &&
    (grant.expiresAtMs === null || atMs < grant.expiresAtMs)
  );
}

export async function appendEntry(
  tx: StoreTransaction,
  target: { id: number | null; customerId: string; currency: string },
  kind: LedgerEntryRow['kind'],
  amount: number,
  context: EntryContext,
  debitId: number | null = null,
): Promise<void> {
  // A zero entry records nothing; the schema refuses it too.
  if (amount === 0 || !Number.isSafeInteger(amount)) {
    throw ledgerInternal(`a ${kind} entry of ${amount}`);
  }
  await tx.appendLedgerEntry({
    customerId: target.customerId,
    currency: target.currency,
    grantId: target.id,
    debitId,
    kind,
    amount,
    atMs: context.atMs,
    actor: context.actor,
    reference: context.reference ?? null,
    idempotencyKey: context.idempotencyKey ?? null,
    reason: context.reason ?? null,
  });
}

/**
 * Checks, inside the transaction that changed them, that the materialised numbers are
 * still derived from the entries. A failure rolls the whole operation back.
 */
export async function assertLedgerInvariants(
  tx: StoreTransaction,
  customerId: string,
  currency: string,
  grantIds: readonly number[],
): Promise<void> {
  const balance = await tx.getBalance(customerId, currency);
  const sum = await tx.sumLedgerEntries(customerId, currency);
  if (balance !== sum) {
    throw ledgerInternal(`balance ${balance} of ${customerId} is not its entries' sum ${sum}`);
  }
  // Paying back more than was owed would leave credits that no grant holds.
  const debt = await tx.sumDebt(customerId, currency);
  if (debt < 0) throw ledgerInternal(`debt of ${customerId} in ${currency} went to ${debt}`);
  for (const grantId of new Set(grantIds)) {
    const drift = await tx.grantDrift(grantId);
    if (drift !== 0) throw ledgerInternal(`grant ${grantId} is ${drift} off its entries' sum`);
  }
}

export function assertAmount(amount: number, what: string): void {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw ledgerInternal(`${what} of ${amount} is not a positive safe integer`);
  }
}

export function ledgerInternal(detail: string): TollgateError {
  return new TollgateError('TOLLGATE_ERR_INTERNAL', 'The ledger refused an invalid change', {
    detail,
  });
}
