import { InvalidQuantityError } from './errors.js';

/**
 * Validates a quantity or amount: an integer from 0 to 2^53 − 1. Numeric strings are
 * refused too, so that `"5"` and `5` cannot mean different things in different places.
 */
export function parseQuantity(value: unknown, field = 'quantity'): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidQuantityError(field, describe(value));
  }
  return value;
}

/** Like `parseQuantity`, but zero is refused: a grant or debit of nothing is a mistake. */
export function parsePositiveQuantity(value: unknown, field = 'amount'): number {
  const quantity = parseQuantity(value, field);
  if (quantity === 0) throw new InvalidQuantityError(field, '0');
  return quantity;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  return typeof value;
}
