/**
 * An amount in a currency's smallest unit as a decimal string with `displayScale`
 * fractional digits: 1_500_000 at scale 6 is "1.500000", -5 at scale 2 is "-0.05". The
 * digits are moved in the string, never divided, so no amount up to 2^53 - 1 is rounded.
 *
 * @example displayAmount(1_500_000, 6) // "1.500000"
 */
export function displayAmount(amount: number, displayScale: number): string {
  if (!Number.isSafeInteger(amount)) throw new RangeError(`${amount} is not a safe integer`);
  if (!Number.isInteger(displayScale) || displayScale < 0 || displayScale > 18) {
    throw new RangeError(`display scale ${displayScale} is not from 0 to 18`);
  }
  const digits = String(Math.abs(amount)).padStart(displayScale + 1, '0');
  const whole = digits.slice(0, digits.length - displayScale);
  const fraction = digits.slice(digits.length - displayScale);
  const sign = amount < 0 ? '-' : '';
  return displayScale === 0 ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}
