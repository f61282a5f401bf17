import { TollgateError } from '@tollgate/core';
import type { DebitRow, GrantRow, StoreTransaction } from '../store/store.js';
import type { EntryContext } from './ledger.js';
import { appendEntry, assertAmount, assertLedgerInvariants, isLive, payDebt } from './ledger.js';

export interface RefundResult {
  debit: DebitRow;
  lines: { grantId: number | null; amount: number }[];
  balance: number;
}

interface Return {
  grant: GrantRow | null;
  amount: number;
}

/**
 * Returns up to `amount` of a debit, walking its portions in reverse (the last drawn
 * comes back first). An overage portion lowers the debt that is still owed; a grant
 * portion goes back into its grant while the grant is live. What was drawn from a grant
 * since expired or voided is not refundable: those credits would be gone by now anyway.
 * A refund above what is refundable is refused whole (409) and writes nothing.
 */
export async function refundDebit(
  tx: StoreTransaction,
  request: { customerId: string; debitId: number; amount: number },
  context: EntryContext,
): Promise<RefundResult> {
  assertAmount(request.amount, 'a refund');
  const debit = await tx.getDebit(request.debitId);
  if (debit === null || debit.customerId !== request.customerId) {
    throw new TollgateError('TOLLGATE_ERR_NOT_FOUND', `debit_id: no debit ${request.debitId}`, {
      field: 'debit_id',
    });
  }
  let balance = await tx.getBalance(debit.customerId, debit.currency);
  const debt = await tx.sumDebt(debit.customerId, debit.currency);
  const returns = await planReturns(tx, debit, debt, context.atMs);
  const refundable = returns.reduce((total, entry) => total + entry.amount, 0);
  if (request.amount > refundable) {
    throw new TollgateError(
      'TOLLGATE_ERR_REFUND_EXCEEDS_DEBIT',
      `amount: at most ${refundable} of debit ${debit.id} can be refunded`,
      { field: 'amount' },
    );
  }

  const lines: RefundResult['lines'] = [];
  let left = request.amount;
  for (const { grant, amount } of returns) {
    if (left === 0) break;
    const returned = Math.min(amount, left);
    left -= returned;
    lines.push({ grantId: grant?.id ?? null, amount: returned });
    const target = grant ?? { id: null, customerId: debit.customerId, currency: debit.currency };
    await appendEntry(tx, target, 'refund', returned, context, debit.id);
    balance = await tx.addToBalance(debit.customerId, debit.currency, returned);
    if (grant === null) continue;
    const refilled = { ...grant, remaining: grant.remaining + returned };
    await tx.updateGrant(grant.id, { remaining: refilled.remaining, expired: false });
    await payDebt(tx, refilled, context);
  }
  const touched = lines.flatMap((line) => (line.grantId === null ? [] : [line.grantId]));
  await assertLedgerInvariants(tx, debit.customerId, debit.currency, touched);
  return { debit, lines, balance };
}

/** What each portion of the debit can still take back, last drawn first. */
async function planReturns(
  tx: StoreTransaction,
  debit: DebitRow,
  debt: number,
  atMs: number,
): Promise<Return[]> {
  const returns: Return[] = [];
  for (const portion of (await tx.listDebitPortions(debit.id)).reverse()) {
    const open = portion.drawn - portion.refunded;
    if (open <= 0) continue;
    if (portion.grantId === null) {
      // Only the part of the overage still owed can be forgiven; a grant may have paid it.
      if (debt > 0) returns.push({ grant: null, amount: Math.min(open, debt) });
      continue;
    }
    const grant = await tx.getGrant(portion.grantId);
    if (grant !== null && isLive(grant, atMs)) returns.push({ grant, amount: open });
  }
  return returns;
}

/**
 * Voids a grant's unused part: one `void` entry for its remainder, after which the grant
 * is never spent or refilled. Voiding an expired or voided grant is refused (409).
 */
export async function voidGrant(
  tx: StoreTransaction,
  request: { customerId: string; grantId: number },
  context: EntryContext,
): Promise<{ grant: GrantRow; voided: number; balance: number }> {
  const grant = await tx.getGrant(request.grantId);
  if (grant === null || grant.customerId !== request.customerId) {
    throw new TollgateError('TOLLGATE_ERR_NOT_FOUND', `grant_id: no grant ${request.grantId}`, {
      field: 'grant_id',
    });
  }
  if (!isLive(grant, context.atMs)) {
    throw new TollgateError(
      'TOLLGATE_ERR_CONFLICT',
      `grant_id: grant ${grant.id} has already expired or been voided`,
      { field: 'grant_id' },
    );
  }
  const voided = grant.remaining;
  if (voided > 0) await appendEntry(tx, grant, 'void', -voided, context);
  await tx.updateGrant(grant.id, { remaining: 0, expired: false, voidedAtMs: context.atMs });
  const balance = await tx.addToBalance(grant.customerId, grant.currency, -voided);
  await assertLedgerInvariants(tx, grant.customerId, grant.currency, [grant.id]);
  return { grant: { ...grant, remaining: 0, voidedAtMs: context.atMs }, voided, balance };
}
