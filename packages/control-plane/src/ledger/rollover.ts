import { periodAt, periodBoundary } from '@tollgate/catalog';
import type { Catalog, Period, RecurringGrantDefinition } from '@tollgate/catalog';
import { findPlanVersion } from '../plan-versions.js';
import type { GrantRow, StoreTransaction, SubscriptionRow } from '../store/store.js';
import { expireGrant, grantCredits } from './ledger.js';

interface DueGrant {
  slot: number;
  definition: RecurringGrantDefinition;
  period: Period;
}

/**
 * Brings one customer's credits up to `nowMs`: grants every recurring grant whose period
 * has started and expires every grant whose expiry has passed, in time order, so that the
 * ledger reads as if a job had run at each instant. Runs lazily before any read or write
 * touching the customer. Each recurring grant has the source key
 * `recurring:<subscription>:<slot>:<period index>`, unique in the store, so a period is
 * granted exactly once however often this runs.
 */
export async function rolloverCustomer(
  tx: StoreTransaction,
  catalog: Catalog,
  customerId: string,
  nowMs: number,
): Promise<void> {
  const subscription = await tx.getSubscription(customerId);
  const pending = subscription === null ? [] : await dueGrants(tx, catalog, subscription, nowMs);

  for (;;) {
    const nextExpiry = earliestExpired(await tx.listGrants(customerId), nowMs);
    const nextGrant = pending[0];
    if (nextExpiry === undefined && nextGrant === undefined) return;

    // On a tie the old grant expires before the new one arrives, as at a period boundary.
    const expiryFirst =
      nextExpiry !== undefined &&
      (nextGrant === undefined || (nextExpiry.expiresAtMs ?? 0) <= nextGrant.period.startMs);
    if (expiryFirst) {
      await expireGrant(tx, nextExpiry, 'job');
    } else if (nextGrant !== undefined && subscription !== null) {
      pending.shift();
      await grantRecurring(tx, subscription, nextGrant);
    }
  }
}

async function dueGrants(
  tx: StoreTransaction,
  catalog: Catalog,
  subscription: SubscriptionRow,
  nowMs: number,
): Promise<DueGrant[]> {
  const version = findPlanVersion(catalog, subscription.plan, subscription.planVersion);
  const due: DueGrant[] = [];
  for (const [slot, definition] of version.recurringGrants.entries()) {
    const currentIndex = periodAt(subscription.anchorMs, definition.every, nowMs).index;
    const lastIndex = (await tx.lastRecurringPeriodIndex(subscription.id, slot)) ?? -1;
    for (let index = lastIndex + 1; index <= currentIndex; index += 1) {
      const startMs = periodBoundary(subscription.anchorMs, definition.every, index);
      const endMs = periodBoundary(subscription.anchorMs, definition.every, index + 1);
      due.push({ slot, definition, period: { startMs, endMs, index } });
    }
  }
  return due.sort((left, right) => left.period.startMs - right.period.startMs);
}

async function grantRecurring(
  tx: StoreTransaction,
  subscription: SubscriptionRow,
  due: DueGrant,
): Promise<void> {
  const units = due.definition.perUnit ? subscription.quantity : 1;
  await grantCredits(
    tx,
    {
      customerId: subscription.customerId,
      currency: due.definition.currency,
      category: due.definition.category,
      amount: due.definition.amount * units,
      priority: due.definition.priority,
      effectiveAtMs: due.period.startMs,
      expiresAtMs: due.definition.expiresAtPeriodEnd ? due.period.endMs : null,
      costBasis: due.definition.costBasis * units,
      costBasisCurrency: due.definition.costBasisCurrency,
      sourceKey: `recurring:${subscription.id}:${due.slot}:${due.period.index}`,
      subscriptionId: subscription.id,
      recurringSlot: due.slot,
      periodIndex: due.period.index,
    },
    { atMs: due.period.startMs, actor: 'job' },
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
