import { Reason, reasonName } from '@tollgate/core';
import type { Decision } from '@tollgate/core';

/**
 * Saturating amount arithmetic, the same as `assembly/src/arithmetic.ts`. Amounts stay
 * within ±(2^53 − 1). Float rounding is monotonic and 2^53 is representable, so a true
 * result past the bound rounds past it too: the clamps below are exact, and the
 * reference agrees with the i64 evaluator on every input.
 */
export const AMOUNT_MAX = Number.MAX_SAFE_INTEGER;

/** a + b for non-negative b, clamped at AMOUNT_MAX. */
export function addAmount(a: number, b: number): number {
  const sum = a + b;
  return sum > AMOUNT_MAX ? AMOUNT_MAX : sum;
}

/** a − b for non-negative b, clamped at −AMOUNT_MAX. */
export function subtractAmount(a: number, b: number): number {
  const difference = a - b;
  return difference < -AMOUNT_MAX ? -AMOUNT_MAX : difference;
}

/** A hold after removing b from it: never below zero. */
export function releaseAmount(a: number, b: number): number {
  return a > b ? a - b : 0;
}

/** quantity × costPerUnit, clamped at AMOUNT_MAX. */
export function multiplyAmount(quantity: number, costPerUnit: number): number {
  const product = quantity * costPerUnit;
  return product > AMOUNT_MAX ? AMOUNT_MAX : product;
}

/** Result flags, as in the Wasm result area: which figures are null. */
export const FLAG_LIMIT_NULL = 1;
export const FLAG_REMAINING_NULL = 2;
export const FLAGS_ALL_NULL = FLAG_LIMIT_NULL | FLAG_REMAINING_NULL;

/** Operations that decide. */
export enum Operation {
  Check = 0,
  Consume = 1,
  Hold = 2,
}

/** Builds a `Decision` from the raw figures both evaluators produce. */
export function makeDecision(
  reason: Reason,
  flags: number,
  limit: number,
  used: number,
  remaining: number,
  cost: number,
  resetAtMs: number,
  snapshotVersion: number,
): Decision {
  return {
    allowed: reason === Reason.Allowed,
    reason,
    reasonName: reasonName(reason),
    limit: (flags & FLAG_LIMIT_NULL) !== 0 ? null : limit,
    used,
    remaining: (flags & FLAG_REMAINING_NULL) !== 0 ? null : remaining,
    cost,
    resetAtMs,
    snapshotVersion,
  };
}
