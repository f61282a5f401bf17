import {
  assertIdentifier,
  parsePositiveQuantity,
  parseQuantity,
  validationError,
} from '@tollgate/core';

/**
 * Readers for JSON request bodies. Each one names the offending field in its error, so a
 * client sees `amount: expected an integer…` rather than a generic 400.
 */
export type Body = Record<string, unknown>;

export function readBody(value: unknown): Body {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw validationError('body', 'expected a JSON object');
  }
  return value as Body;
}

export function readIdentifier(body: Body, field: string): string {
  return assertIdentifier(body[field], field);
}

export function readOptionalIdentifier(body: Body, field: string): string | null {
  return body[field] === undefined ? null : assertIdentifier(body[field], field);
}

export function readChoice<Choice extends string>(
  body: Body,
  field: string,
  choices: readonly Choice[],
): Choice {
  const value = body[field];
  if (typeof value !== 'string' || !choices.includes(value as Choice)) {
    throw validationError(field, `expected one of ${choices.join(', ')}`);
  }
  return value as Choice;
}

export function readOptionalQuantity(body: Body, field: string, fallback: number): number {
  return body[field] === undefined ? fallback : parseQuantity(body[field], field);
}

export function readOptionalPositive(body: Body, field: string): number | undefined {
  return body[field] === undefined ? undefined : parsePositiveQuantity(body[field], field);
}

/** An RFC 3339 instant with an explicit offset, as epoch milliseconds; null when absent. */
export function readOptionalInstant(body: Body, field: string): number | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  const offsetPattern = /(Z|[+-]\d{2}:\d{2})$/;
  const ms = typeof value === 'string' && offsetPattern.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) {
    throw validationError(field, 'expected an RFC 3339 instant such as 2026-04-01T00:00:00Z');
  }
  return ms;
}

export function formatInstant(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
