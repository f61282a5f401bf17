import { periodAt, periodBoundary } from '@tollgate/catalog';
import type { Catalog, Period, RecurringGrantDefinition } from '@tollgate/catalog';
import { findPlanVersion } from '../plan-versions.js';
import type { GrantRow, StoreTransaction, SubscriptionRow } from '../store/store.js';
import {
  assertLedgerInvariants,
  creditScheduledGrant,
  expireGrant,
  grantCredits,
  ledgerInternal,
} from './ledger.js';

interface DueGrant {
  slot: number;
  definition: RecurringGrantDefinition;
  period: Period;
  /** When it arrives: the period start, or the resume or plan change inside the period. */
  atMs: number;
}

/**
 * Brings one customer's credits up to `nowMs`: grants every recurring grant whose period
 * has started, credits every scheduled grant (`effective_at` in the future when made)
 * whose instant has come, and expires every grant whose expiry has passed, in time order,
 * so that the ledger reads as if a job had run at each instant. Runs lazily before any
 * read or write touching the customer. Each recurring grant has the source key
 * `recurring:<subscription>:<slot>:<period index>`, unique in the store, so a period is
 * granted exactly once however often this runs.
 *
 * The subscription's lifecycle bounds the periods: none starts a grant once the
 * subscription is paused or canceled, and after a resume or plan change grants start
 * again from the period in progress, at that instant (see `dueGrants`).
 *
 * A recurring grant with a rollover cap carries its unused credits into the next period:
 * at the boundary the old grants expire in full (expiry entries), then a rollover grant of
 * at most the cap arrives (`rollover:<subscription>:<slot>:<period index>`), then the new
 * period's grant. The lazy path, the background job and the snapshot build all run this
 * one function, so every path that rolls a period over writes the same entries.
 */
export async function rolloverCustomer(
  tx: StoreTransaction,
  catalog: Catalog,
  customerId: string,
  nowMs: number,
): Promise<void> {
  // Expiry reads remainders and writes them back: without the lock (a no-op when the caller
  // holds it already), another process could debit a grant between the read and the write.
  await tx.lockCustomer(customerId);
  const subscription = await tx.getSubscription(customerId);
  const pending = subscription === null ? [] : await dueGrants(tx, catalog, subscription, nowMs);
  // The grants expired in this run, with what each held: the rollover carries from them.
  const expired = new Map<number, { grant: GrantRow; remainder: number }>();

  const scheduled = await tx.listDueScheduledGrants(customerId, nowMs);

  for (;;) {
    const nextExpiry = earliestExpired(await tx.listOpenGrants(customerId), nowMs);
    const nextGrant = pending[0];
    const nextScheduled = scheduled[0];
    const grantAtMs = Math.min(
      nextGrant?.atMs ?? Number.POSITIVE_INFINITY,
      nextScheduled?.effectiveAtMs ?? Number.POSITIVE_INFINITY,
    );
    if (nextExpiry === undefined && grantAtMs === Number.POSITIVE_INFINITY) break;

    // On a tie the old grant expires before the new one arrives, as at a period boundary.
    const expiryFirst = nextExpiry !== undefined && (nextExpiry.expiresAtMs ?? 0) <= grantAtMs;
    if (expiryFirst) {
      expired.set(nextExpiry.id, { grant: nextExpiry, remainder: nextExpiry.remaining });
      await expireGrant(tx, nextExpiry, 'job');
    } else if (nextScheduled !== undefined && nextScheduled.effectiveAtMs === grantAtMs) {
      scheduled.shift();
      await creditScheduledGrant(tx, nextScheduled, 'job');
    } else if (nextGrant !== undefined && subscription !== null) {
      pending.shift();
      const carried = carriedInto(nextGrant, subscription, expired);
      if (carried > 0) await grantRecurring(tx, subscription, nextGrant, carried);
      await grantRecurring(tx, subscription, nextGrant, null);
    }
  }
  const currencies = new Set([...expired.values()].map(({ grant }) => grant.currency));
  for (const currency of currencies) {
    const ids = [...expired.values()].filter(({ grant }) => grant.currency === currency);
    await assertLedgerInvariants(
      tx,
      customerId,
      currency,
      ids.map(({ grant }) => grant.id),
    );
  }
}

/**
 * The credits a capped rollover carries into `due`'s period: what the same slot's grants
 * of the previous period (its recurring grant and what had rolled into it) held when they
 * expired at the boundary, at most the cap. They end at this boundary, and an expiry
 * comes before a grant at the same instant, so this run expired them; a voided one is
 * absent and carries nothing.
 */
function carriedInto(
  due: DueGrant,
  subscription: SubscriptionRow,
  expired: ReadonlyMap<number, { grant: GrantRow; remainder: number }>,
): number {
  const cap = due.definition.rolloverMax;
  if (cap === null || cap === 0 || due.period.index === 0) return 0;
  let unused = 0;
  for (const { grant, remainder } of expired.values()) {
    const previous =
      grant.subscriptionId === subscription.id &&
      grant.recurringSlot === due.slot &&
      grant.periodIndex === due.period.index - 1;
    if (previous) unused += remainder;
  }
  if (!Number.isSafeInteger(unused) || unused < 0) throw ledgerInternal(`carry of ${unused}`);
  return Math.min(unused, cap);
}

/**
 * The recurring grants due by `nowMs`, in time order, for the plan the subscription holds
 * now: every period after the last one granted, from the period holding `recurringFromMs`
 * (a resume or plan change: the periods before it were granted under the old state, or
 * not at all), and none that starts once the subscription is paused or canceled.
 */
async function dueGrants(
  tx: StoreTransaction,
  catalog: Catalog,
  subscription: SubscriptionRow,
  nowMs: number,
): Promise<DueGrant[]> {
  const version = findPlanVersion(catalog, subscription.plan, subscription.planVersion);
  const lifecycle = await tx.accounts.getLifecycle(subscription.id);
  const stopMs = Math.min(
    lifecycle.pausedAtMs ?? Number.POSITIVE_INFINITY,
    lifecycle.cancelAtMs ?? Number.POSITIVE_INFINITY,
  );
  const fromMs = lifecycle.recurringFromMs;
  const due: DueGrant[] = [];
  for (const [slot, definition] of version.recurringGrants.entries()) {
    const { anchorMs } = subscription;
    const currentIndex = periodAt(anchorMs, definition.every, nowMs).index;
    const lastIndex = (await tx.lastRecurringPeriodIndex(subscription.id, slot)) ?? -1;
    const fromIndex = fromMs === null ? 0 : periodAt(anchorMs, definition.every, fromMs).index;
    for (let index = Math.max(lastIndex + 1, fromIndex); index <= currentIndex; index += 1) {
      const startMs = periodBoundary(anchorMs, definition.every, index);
      if (startMs >= stopMs) break;
      const endMs = periodBoundary(anchorMs, definition.every, index + 1);
      const atMs = Math.max(startMs, fromMs ?? startMs);
      due.push({ slot, definition, period: { startMs, endMs, index }, atMs });
    }
  }
  return due.sort((left, right) => left.atMs - right.atMs);
}

/**
 * Grants a period's recurring credits, or with `carried` set, the rollover grant that
 * comes before them. Carried credits were paid for with the old grant, whose cost basis
 * stays with it, so a rollover grant costs 0.
 */
async function grantRecurring(
  tx: StoreTransaction,
  subscription: SubscriptionRow,
  due: DueGrant,
  carried: number | null,
): Promise<void> {
  const units = due.definition.perUnit ? subscription.quantity : 1;
  const source = carried === null ? 'recurring' : 'rollover';
  await grantCredits(
    tx,
    {
      customerId: subscription.customerId,
      currency: due.definition.currency,
      category: due.definition.category,
      amount: carried ?? due.definition.amount * units,
      priority: due.definition.priority,
      effectiveAtMs: due.atMs,
      expiresAtMs: due.definition.expiresAtPeriodEnd ? due.period.endMs : null,
      costBasis: carried === null ? due.definition.costBasis * units : 0,
      costBasisCurrency: due.definition.costBasisCurrency,
      sourceKey: `${source}:${subscription.id}:${due.slot}:${due.period.index}`,
      subscriptionId: subscription.id,
      recurringSlot: due.slot,
      periodIndex: due.period.index,
    },
    { atMs: due.atMs, actor: 'job' },
  );
}

function earliestExpired(grants: readonly GrantRow[], nowMs: number): GrantRow | undefined {
  let earliest: GrantRow | undefined;
  for (const grant of grants) {
    if (grant.expired || grant.expiresAtMs === null || grant.expiresAtMs > nowMs) continue;
    if (earliest === undefined || grant.expiresAtMs < (earliest.expiresAtMs ?? 0)) earliest = grant;
  }
  return earliest;
}
