import { LimitBehavior } from '@tollgate/core';
import { periodAt } from '@tollgate/catalog';
import type { Catalog, FeatureDefinition, LimitBehaviorName } from '@tollgate/catalog';
import type { SnapshotCustomer, SnapshotEntitlement } from '@tollgate/snapshot';
import { isSpendable } from './ledger/ledger.js';
import { findPlanVersion } from './plan-versions.js';
import type {
  AddonPurchaseRow,
  CustomerRow,
  StoreTransaction,
  SubscriptionRow,
} from './store/store.js';
import { usagePeriodAt, usageTotalKey } from './usage/usage-period.js';

/**
 * Resolves what one customer may do at `nowMs`: an entitlement per catalog feature (in
 * catalog order) and a balance per currency. The caller has already rolled the customer's
 * credits over to `nowMs`, so the stored balances are current.
 */
export async function resolveCustomer(
  tx: StoreTransaction,
  catalog: Catalog,
  customer: CustomerRow,
  nowMs: number,
): Promise<SnapshotCustomer> {
  const subscription = await tx.getSubscription(customer.id);
  const addons = await tx.listAddonPurchases(customer.id);
  const anchorMs = subscription?.anchorMs ?? customer.createdAtMs;
  const changes: number[] = [];

  const entitlements: SnapshotEntitlement[] = [];
  for (const feature of catalog.features.values()) {
    const entitlement = resolveLimit(catalog, feature, subscription, addons);
    const period = feature.kind === 'metered' ? usagePeriodAt(feature, anchorMs, nowMs) : null;
    const used =
      feature.kind === 'metered'
        ? await tx.getUsage(usageTotalKey(customer.id, feature, period))
        : 0;
    if (period !== null) changes.push(period.endMs);
    entitlements.push({ ...entitlement, used, resetAtMs: period?.endMs ?? 0 });
  }

  const balances = [];
  for (const currency of catalog.currencies.values()) {
    const balance = await tx.getBalance(customer.id, currency.key);
    balances.push({ balance, behavior: behaviorOf(currency.behavior) });
  }

  // Recurring grants arrive and old ones expire at the subscription's period ends; any
  // other grant changes the balance when it expires.
  for (const grant of await tx.listGrants(customer.id)) {
    if (isSpendable(grant, nowMs) && grant.expiresAtMs !== null) changes.push(grant.expiresAtMs);
  }
  if (subscription !== null) changes.push(...nextRecurringStarts(catalog, subscription, nowMs));
  const upcoming = changes.filter((instantMs) => instantMs > nowMs);
  const nextChangeAtMs = upcoming.length === 0 ? 0 : Math.min(...upcoming);

  return { id: customer.id, nextChangeAtMs, entitlements, balances };
}

/** Access, limit and behaviour of one feature: the pinned plan version, then add-ons. */
export function resolveLimit(
  catalog: Catalog,
  feature: FeatureDefinition,
  subscription: SubscriptionRow | null,
  addons: readonly AddonPurchaseRow[],
): Omit<SnapshotEntitlement, 'used' | 'resetAtMs'> {
  const version =
    subscription === null
      ? null
      : findPlanVersion(catalog, subscription.plan, subscription.planVersion);
  const planned = version?.entitlements.get(feature.key);
  let access = planned !== undefined;
  let limit: number | null =
    planned?.limit === 'quantity' ? (subscription?.quantity ?? 0) : (planned?.limit ?? null);

  for (const purchase of addons) {
    const change = catalog.addons.get(purchase.addon)?.entitlements.get(feature.key);
    if (change === undefined) continue;
    if ('add' in change) {
      limit = limit === null ? null : limit + change.add;
    } else {
      limit = change.set;
      access = true;
    }
  }

  const currency = feature.currency === null ? undefined : catalog.currencies.get(feature.currency);
  const behavior = currency?.behavior ?? planned?.behavior ?? 'hard';
  const limited =
    feature.kind === 'config' || feature.kind === 'metered' || feature.kind === 'seats';
  return { access, limit: limited ? limit : null, behavior: behaviorOf(behavior) };
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
