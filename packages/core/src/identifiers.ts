import { InvalidIdentifierError } from './errors.js';

/** Opaque, case-sensitive identifiers of 1–128 characters from `A–Z a–z 0–9 _ - . :`. */
export const identifierPattern = /^[A-Za-z0-9_.:-]{1,128}$/;

export function isIdentifier(value: unknown): value is string {
  return typeof value === 'string' && identifierPattern.test(value);
}

/** Returns `value` when it is a valid identifier; else throws `InvalidIdentifierError`. */
export function assertIdentifier(value: unknown, field: string): string {
  if (!isIdentifier(value)) throw new InvalidIdentifierError(field);
  return value;
}
