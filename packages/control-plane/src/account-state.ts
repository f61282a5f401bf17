import type { AccountState, OverrideState, SubscriptionState } from '@tollgate/catalog';
import type { OverrideRow } from './store/account-store.js';
import type { CustomerRow, StoreTransaction, SubscriptionRow } from './store/store.js';

/**
 * Reads every source of a customer's entitlements from the store, in the shape the pure
 * resolver takes (`resolveAccount` in `@tollgate/catalog`), as they stood at `atMs`: the
 * subscription's plan, version, quantity and lifecycle instants come from the change in
 * force at that instant, and every trial is passed so that the resolver picks the one of
 * that instant. Trials, add-ons and overrides are kept with their instants already.
 * Without `atMs`, the subscription is read as it stands now.
 */
export async function loadAccountState(
  tx: StoreTransaction,
  customer: CustomerRow,
  atMs?: number,
): Promise<AccountState> {
  const subscription = await tx.getSubscription(customer.id);
  const trials = (await tx.accounts.listTrials(customer.id)).map((trial) => ({
    trial: trial.trial,
    plan: trial.plan,
    version: trial.planVersion,
    startsAtMs: trial.startsAtMs,
    endsAtMs: trial.endsAtMs,
  }));
  const addons = await tx.listAddonPurchases(customer.id);
  const overrides = await tx.accounts.listOverrides(customer.id);
  return {
    customerId: customer.id,
    createdAtMs: customer.createdAtMs,
    timeZone: await tx.accounts.getTimeZone(customer.id),
    subscription: subscription === null ? null : await subscriptionAt(tx, subscription, atMs),
    trial: trials.at(-1) ?? null,
    trials,
    addons: addons.map((purchase) => ({
      addon: purchase.addon,
      purchasedAtMs: purchase.purchasedAtMs,
    })),
    overrides: overrides.map(overrideState),
  };
}

/** The subscription as it stood at `atMs`; its current state when it never changed. */
async function subscriptionAt(
  tx: StoreTransaction,
  subscription: SubscriptionRow,
  atMs: number | undefined,
): Promise<SubscriptionState> {
  const recorded =
    atMs === undefined ? null : await tx.accounts.getSubscriptionStateAt(subscription.id, atMs);
  const state = recorded ?? {
    plan: subscription.plan,
    planVersion: subscription.planVersion,
    quantity: subscription.quantity,
    ...(await tx.accounts.getLifecycle(subscription.id)),
  };
  return {
    plan: state.plan,
    version: state.planVersion,
    anchorMs: subscription.anchorMs,
    quantity: state.quantity,
    pastDueSinceMs: state.pastDueSinceMs,
    pausedAtMs: state.pausedAtMs,
    cancelAtMs: state.cancelAtMs,
  };
}

export function overrideState(row: OverrideRow): OverrideState {
  return {
    id: String(row.id),
    feature: row.feature,
    access: row.access,
    limit: row.limit,
    rule: row.rule,
    startsAtMs: row.startsAtMs,
    endsAtMs: row.endsAtMs,
  };
}
