import { periodAt } from '@tollgate/catalog';
import type { FeatureDefinition, Period } from '@tollgate/catalog';

/** Calendar schedules are anchored at an instant that starts every unit: a Monday 00:00. */
const calendarAnchorMs = Date.UTC(1970, 0, 5);

/**
 * The usage period of a metered feature that contains `atMs`, half-open `[start, end)`.
 * `anchorMs` is the subscription's anchor (the customer's creation when it has none).
 * Null when the feature never resets: its usage accumulates in one unending period.
 */
export function usagePeriodAt(
  feature: FeatureDefinition,
  anchorMs: number,
  atMs: number,
): Period | null {
  if (feature.reset === null) return null;
  const scheduleAnchorMs = feature.reset.on === 'calendar' ? calendarAnchorMs : anchorMs;
  return periodAt(scheduleAnchorMs, feature.reset.every, atMs);
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
