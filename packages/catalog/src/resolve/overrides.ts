import { TollgateError } from '@tollgate/core';
import type { OverrideState } from './state.js';

/** True when the override applies at `nowMs`: started (inclusive) and not ended (exclusive). */
export function overrideActive(override: OverrideState, nowMs: number): boolean {
  return (
    (override.startsAtMs === null || override.startsAtMs <= nowMs) &&
    (override.endsAtMs === null || nowMs < override.endsAtMs)
  );
}

/** True when the two half-open spans share an instant; null ends are unbounded. */
export function overridesOverlap(left: OverrideState, right: OverrideState): boolean {
  const leftStart = left.startsAtMs ?? -Infinity;
  const rightStart = right.startsAtMs ?? -Infinity;
  const leftEnd = left.endsAtMs ?? Infinity;
  const rightEnd = right.endsAtMs ?? Infinity;
  return left.feature === right.feature && leftStart < rightEnd && rightStart < leftEnd;
}

/**
 * Refuses an override that overlaps another for the same feature unless it states its
 * rule: two values for one feature at one instant need a rule to say which counts, and
 * guessing one would silently lower or raise a quota. `ruleStated` is false when the
 * override took the default rule.
 *
 * @throws TollgateError `TOLLGATE_ERR_OVERRIDE_OVERLAP` naming the field `rule`.
 */
export function checkOverrideOverlap(
  existing: readonly OverrideState[],
  candidate: OverrideState,
  ruleStated: boolean,
): void {
  if (ruleStated) return;
  const clash = existing.find((override) => overridesOverlap(override, candidate));
  if (clash === undefined) return;
  throw new TollgateError(
    'TOLLGATE_ERR_OVERRIDE_OVERLAP',
    `rule: override ${clash.id} of ${candidate.feature} overlaps this one; state a rule ` +
      '(set, sum, max or or) to combine them',
    { field: 'rule' },
  );
}

/** Overrides in the order they apply: by start (unbounded first), then by id. */
export function overrideOrder(left: OverrideState, right: OverrideState): number {
  const byStart = (left.startsAtMs ?? -Infinity) - (right.startsAtMs ?? -Infinity);
  if (byStart !== 0 && Number.isFinite(byStart)) return byStart;
  if (left.startsAtMs !== right.startsAtMs) return left.startsAtMs === null ? -1 : 1;
  return left.id.localeCompare(right.id, 'en', { numeric: true });
}
