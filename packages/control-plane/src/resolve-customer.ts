import { LimitBehavior } from '@tollgate/core';
import { periodAt, resolveAccount } from '@tollgate/catalog';
import type { Catalog, LimitBehaviorName, Resolution } from '@tollgate/catalog';
import type { SnapshotCustomer, SnapshotEntitlement } from '@tollgate/snapshot';
import { loadAccountState } from './account-state.js';
import { isSpendable } from './ledger/ledger.js';
import { findPlanVersion } from './plan-versions.js';
import type { CustomerRow, StoreTransaction, SubscriptionRow } from './store/store.js';
import { usageTotalKey } from './usage/usage-period.js';
import { countSeats } from './seated-users.js';

/**
 * Resolves what one customer may do at `nowMs`: an entitlement per catalog feature (in
 * catalog order) and a balance per currency. Entitlements come from the pure resolver;
 * this adds usage in the current period, balances, the instants grants change, and the
 * users holding a seat. The
 * caller has already rolled the customer's credits over to `nowMs`.
 */
export async function resolveCustomer(
  tx: StoreTransaction,
  catalog: Catalog,
  customer: CustomerRow,
  nowMs: number,
): Promise<SnapshotCustomer> {
  const state = await loadAccountState(tx, customer, nowMs);
  const resolution = resolveAccount(catalog, state, nowMs);
  const changes: number[] = resolution.nextChangeAtMs === null ? [] : [resolution.nextChangeAtMs];

  const entitlements: SnapshotEntitlement[] = [];
  for (const entry of resolution.entitlements) {
    const feature = catalog.features.get(entry.feature)!;
    const used =
      feature.kind === 'metered'
        ? await tx.getUsage(usageTotalKey(customer.id, feature, entry.period))
        : 0;
    entitlements.push({
      access: entry.access,
      limit: entry.limit,
      used,
      resetAtMs: entry.period?.endMs ?? 0,
      behavior: behaviorOf(entry.behavior),
    });
  }

  const balances = [];
  for (const currency of catalog.currencies.values()) {
    const balance = await tx.getBalance(customer.id, currency.key);
    balances.push({ balance, behavior: behaviorOf(currency.behavior) });
  }

  // Recurring grants arrive and old ones expire at the subscription's period ends; any
  // other grant changes the balance when it expires, or arrives when scheduled.
  for (const grant of await tx.listGrants(customer.id)) {
    if (isSpendable(grant, nowMs) && grant.expiresAtMs !== null) changes.push(grant.expiresAtMs);
    // A scheduled grant changes the balance when it becomes effective.
    if (grant.voidedAtMs === null && grant.effectiveAtMs > nowMs) changes.push(grant.effectiveAtMs);
  }
  const subscription = await tx.getSubscription(customer.id);
  if (subscription !== null) changes.push(...nextRecurringStarts(catalog, subscription, nowMs));
  const upcoming = changes.filter((instantMs) => instantMs > nowMs);
  const nextChangeAtMs = upcoming.length === 0 ? 0 : Math.min(...upcoming);

  // Runtimes deny `no_seat` to any user not listed; the format wants them in ascending order.
  const { seated } = await countSeats(tx, catalog, resolution, customer.id);
  const seatHolders = [...seated].sort();
  const resolved = { id: customer.id, nextChangeAtMs, entitlements, balances };
  return seatHolders.length === 0 ? resolved : { ...resolved, seatHolders };
}

/** The resolution of one customer at `nowMs`, with its explain traces. */
export async function explainCustomer(
  tx: StoreTransaction,
  catalog: Catalog,
  customer: CustomerRow,
  nowMs: number,
): Promise<Resolution> {
  return resolveAccount(catalog, await loadAccountState(tx, customer, nowMs), nowMs);
}

function nextRecurringStarts(
  catalog: Catalog,
  subscription: SubscriptionRow,
  nowMs: number,
): number[] {
  const version = findPlanVersion(catalog, subscription.plan, subscription.planVersion);
  return version.recurringGrants.map(
    (grant) => periodAt(subscription.anchorMs, grant.every, nowMs).endMs,
  );
}

export function behaviorOf(name: LimitBehaviorName): LimitBehavior {
  return name === 'soft' ? LimitBehavior.Soft : LimitBehavior.Hard;
}
