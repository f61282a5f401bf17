// Saturating amount arithmetic. Every amount stays within ±(2^53 − 1) so that it converts
// to f64 exactly at the boundary. The TypeScript reference clamps at the same points, and
// because float rounding is monotonic its clamped results are exact too: both agree.

export const AMOUNT_MAX: i64 = 9007199254740991;

/** a + b for non-negative b, clamped at AMOUNT_MAX. */
export function addAmount(a: i64, b: i64): i64 {
  const sum = a + b;
  return sum > AMOUNT_MAX ? AMOUNT_MAX : sum;
}

/** a − b for non-negative b, clamped at −AMOUNT_MAX. */
export function subtractAmount(a: i64, b: i64): i64 {
  const difference = a - b;
  return difference < -AMOUNT_MAX ? -AMOUNT_MAX : difference;
}

/** a − b for a hold, never below zero. */
export function releaseAmount(a: i64, b: i64): i64 {
  return a > b ? a - b : 0;
}

/**
 * quantity × costPerUnit, clamped at AMOUNT_MAX. The test runs in f64, where a product
 * past 2^53 − 1 rounds to at least 2^53, so the comparison is exact and the i64 product
 * below it cannot overflow.
 */
export function multiplyAmount(quantity: i64, costPerUnit: i64): i64 {
  if (<f64>quantity * <f64>costPerUnit > <f64>AMOUNT_MAX) return AMOUNT_MAX;
  return quantity * costPerUnit;
}

export function minAmount(a: i64, b: i64): i64 {
  return a < b ? a : b;
}
