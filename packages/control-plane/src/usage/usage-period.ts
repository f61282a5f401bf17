import { resolveAccount, usagePeriodOf } from '@tollgate/catalog';
import type { AccountState, Catalog, FeatureDefinition, Period } from '@tollgate/catalog';
import { loadAccountState } from '../account-state.js';
import type { CustomerRow, StoreTransaction, UsageAnchorRow } from '../store/store.js';

/**
 * The usage period of a metered feature that contains `atMs`, half-open `[start, end)`,
 * in the customer's time zone (the customer's, else the plan's, else the catalog's) and
 * on its subscription's anchor or the calendar. Null when the feature never resets: its
 * usage accumulates in one unending period.
 */
export async function usagePeriodAt(
  tx: StoreTransaction,
  catalog: Catalog,
  customer: CustomerRow,
  feature: FeatureDefinition,
  atMs: number,
): Promise<Period | null> {
  return usagePeriodOf(catalog, feature, await loadAccountState(tx, customer), atMs);
}

/**
 * The account state a usage period needs, from one `listUsageAnchors` row, so that a usage
 * batch reads it for all its customers at once. `usagePeriodOf` reads the time zone, the
 * subscription's plan and anchor, and the creation instant; trials, add-ons, overrides and
 * the lifecycle do not move a period, and are left empty.
 */
export function periodStateOf(anchor: UsageAnchorRow): AccountState {
  const { plan, planVersion, anchorMs, quantity } = anchor;
  const subscribed = plan !== null && planVersion !== null && anchorMs !== null;
  return {
    customerId: anchor.customerId,
    createdAtMs: anchor.createdAtMs,
    timeZone: anchor.timeZone,
    subscription: subscribed
      ? {
          plan,
          version: planVersion,
          anchorMs,
          quantity: quantity ?? 1,
          pastDueSinceMs: null,
          pausedAtMs: null,
          cancelAtMs: null,
        }
      : null,
    trial: null,
    addons: [],
    overrides: [],
  };
}

/** The feature's usage period at `nowMs` and its resolved limit (null for unlimited). */
export async function usageAndLimitAt(
  tx: StoreTransaction,
  catalog: Catalog,
  customer: CustomerRow,
  feature: FeatureDefinition,
  nowMs: number,
): Promise<{ period: Period | null; limit: number | null }> {
  const resolution = resolveAccount(catalog, await loadAccountState(tx, customer), nowMs);
  const entry = resolution.entitlements.find((candidate) => candidate.feature === feature.key);
  return { period: entry?.period ?? null, limit: entry?.limit ?? null };
}

/** The key usage totals are stored under; a feature that never resets uses period 0. */
export function usageTotalKey(
  customerId: string,
  feature: FeatureDefinition,
  period: Period | null,
): { customerId: string; feature: string; periodStartMs: number; periodEndMs: number } {
  return {
    customerId,
    feature: feature.key,
    periodStartMs: period?.startMs ?? 0,
    periodEndMs: period?.endMs ?? 0,
  };
}
