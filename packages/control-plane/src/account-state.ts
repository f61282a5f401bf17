import type { AccountState, OverrideState } from '@tollgate/catalog';
import type { OverrideRow } from './store/account-store.js';
import type { CustomerRow, StoreTransaction } from './store/store.js';

/**
 * Reads every source of a customer's entitlements from the store, in the shape the pure
 * resolver takes (`resolveAccount` in `@tollgate/catalog`).
 */
export async function loadAccountState(
  tx: StoreTransaction,
  customer: CustomerRow,
): Promise<AccountState> {
  const subscription = await tx.getSubscription(customer.id);
  const lifecycle = subscription === null ? null : await tx.accounts.getLifecycle(subscription.id);
  const trial = await tx.accounts.getTrial(customer.id);
  const addons = await tx.listAddonPurchases(customer.id);
  const overrides = await tx.accounts.listOverrides(customer.id);
  return {
    customerId: customer.id,
    createdAtMs: customer.createdAtMs,
    timeZone: await tx.accounts.getTimeZone(customer.id),
    subscription:
      subscription === null || lifecycle === null
        ? null
        : {
            plan: subscription.plan,
            version: subscription.planVersion,
            anchorMs: subscription.anchorMs,
            quantity: subscription.quantity,
            pastDueSinceMs: lifecycle.pastDueSinceMs,
            pausedAtMs: lifecycle.pausedAtMs,
            cancelAtMs: lifecycle.cancelAtMs,
          },
    trial:
      trial === null
        ? null
        : {
            trial: trial.trial,
            plan: trial.plan,
            version: trial.planVersion,
            startsAtMs: trial.startsAtMs,
            endsAtMs: trial.endsAtMs,
          },
    addons: addons.map((purchase) => ({
      addon: purchase.addon,
      purchasedAtMs: purchase.purchasedAtMs,
    })),
    overrides: overrides.map(overrideState),
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
