/**
 * The error catalogue. Every failure Tollgate raises is a `TollgateError` with a stable
 * code from this table, a message safe to show a client, and internal detail kept apart.
 * `docs/errors.md` has a row per code. Codes are never reused once retired.
 *
 * Errors are recognised by a brand registered with `Symbol.for`, not by `instanceof`, so
 * that two loaded copies of the library still recognise each other's errors.
 */
export const errorCatalog = {
  TOLLGATE_ERR_VALIDATION: { status: 400, title: 'A field of the request is invalid' },
  TOLLGATE_ERR_INVALID_QUANTITY: { status: 400, title: 'Invalid quantity' },
  TOLLGATE_ERR_INVALID_IDENTIFIER: { status: 400, title: 'Invalid identifier' },
  TOLLGATE_ERR_USAGE_BATCH_INVALID: { status: 400, title: 'Malformed usage batch' },
  TOLLGATE_ERR_UNAUTHENTICATED: { status: 401, title: 'Missing or unknown API key' },
  TOLLGATE_ERR_MISSING_CUSTOMER: { status: 401, title: 'The request names no customer' },
  TOLLGATE_ERR_FORBIDDEN: { status: 403, title: 'This API key may not do that' },
  TOLLGATE_ERR_NOT_FOUND: { status: 404, title: 'No such resource' },
  TOLLGATE_ERR_CONFLICT: { status: 409, title: 'The request conflicts with the current state' },
  TOLLGATE_ERR_IDEMPOTENCY_IN_FLIGHT: { status: 409, title: 'The first request is in flight' },
  TOLLGATE_ERR_IDEMPOTENCY_MISMATCH: {
    status: 422,
    title: 'The idempotency key was used with another payload',
  },
  TOLLGATE_ERR_INSUFFICIENT_CREDITS: { status: 402, title: 'The balance cannot cover it' },
  TOLLGATE_ERR_REFUND_EXCEEDS_DEBIT: {
    status: 409,
    title: 'The refund exceeds what is left to refund of the debit',
  },
  TOLLGATE_ERR_UNKNOWN_FEATURE: { status: 400, title: 'The catalog has no such feature' },
  TOLLGATE_ERR_OVERRIDE_OVERLAP: {
    status: 409,
    title: 'The override overlaps another for the same feature and states no rule',
  },
  TOLLGATE_ERR_NO_SEAT_AVAILABLE: { status: 409, title: 'Every seat of the account is taken' },
  TOLLGATE_ERR_USER_OTHER_ACCOUNT: { status: 409, title: 'The user belongs to another account' },
  TOLLGATE_ERR_TRIAL_USED: {
    status: 409,
    title: 'The customer has had a trial of this plan already',
  },
  TOLLGATE_ERR_CATALOG_INVALID: { status: 500, title: 'The catalog is invalid' },
  TOLLGATE_ERR_SNAPSHOT_CORRUPT: { status: 500, title: 'The snapshot failed verification' },
  TOLLGATE_ERR_SNAPSHOT_UNSUPPORTED: { status: 500, title: 'Unsupported snapshot format' },
  TOLLGATE_ERR_SNAPSHOT_OLDER: { status: 409, title: 'The snapshot is older than the one held' },
  TOLLGATE_ERR_SNAPSHOT_SUPERSEDED: {
    status: 409,
    title: 'A newer snapshot load replaced this one before it finished',
  },
  TOLLGATE_ERR_ABI_MISMATCH: { status: 500, title: 'The Wasm evaluator ABI does not match' },
  TOLLGATE_ERR_QUANTITY_FUNCTION: { status: 500, title: 'The quantity function misbehaved' },
  TOLLGATE_ERR_RESERVATION_NOT_FOUND: { status: 404, title: 'No such reservation' },
  TOLLGATE_ERR_RESERVATION_EXPIRED: { status: 410, title: 'The reservation has expired' },
  TOLLGATE_ERR_USAGE_EVENT_TIME: {
    status: 422,
    title: 'The event time is outside the accepted window',
  },
  TOLLGATE_ERR_LEASE_NOT_FOUND: { status: 404, title: 'No such lease' },
  TOLLGATE_ERR_LEASE_UNSUPPORTED: {
    status: 400,
    title: 'The feature has no balance or limit to lease',
  },
  TOLLGATE_ERR_STRICT_ASYNC_ONLY: {
    status: 500,
    title: 'A strict-mode feature must be consumed with consumeAsync',
  },
  TOLLGATE_ERR_THREAD_ATTACH: {
    status: 500,
    title: 'The shared evaluator could not be attached to this thread',
  },
  TOLLGATE_ERR_THREAD_OWNER_ONLY: {
    status: 500,
    title: 'Only the thread that owns the shared evaluator may do that',
  },
  TOLLGATE_ERR_SNAPSHOT_STREAM: { status: 502, title: 'The snapshot stream sent garbage' },
  TOLLGATE_ERR_CONTROL_PLANE: { status: 502, title: 'The control plane did not answer' },
  TOLLGATE_ERR_NOT_STARTED: { status: 503, title: 'The runtime has no snapshot yet' },
  TOLLGATE_ERR_USAGE_BUFFER_FULL: {
    status: 503,
    title: 'Too many usage events are waiting for the control plane',
  },
  TOLLGATE_ERR_INTERNAL: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalog;

const brand = Symbol.for('tollgate.error');

export interface TollgateErrorOptions {
  /** The offending field, as a path (`events[3].quantity`). */
  field?: string;
  /** Overrides the catalogue's HTTP status. */
  status?: number;
  /** Internal detail: logged, never sent to a client. */
  detail?: string;
  cause?: unknown;
}

export class TollgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly field: string | undefined;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, message: string, options: TollgateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TollgateError';
    this.code = code;
    this.status = options.status ?? errorCatalog[code].status;
    this.field = options.field;
    this.detail = options.detail;
    Object.defineProperty(this, brand, { value: true });
  }

  /** The body a client sees: code, message and field; never the internal detail. */
  toJSON(): { code: ErrorCode; message: string; field?: string } {
    const body: { code: ErrorCode; message: string; field?: string } = {
      code: this.code,
      message: this.message,
    };
    if (this.field !== undefined) body.field = this.field;
    return body;
  }
}

export function isTollgateError(value: unknown): value is TollgateError {
  return typeof value === 'object' && value !== null && brand in value;
}

export class InvalidQuantityError extends TollgateError {
  constructor(field: string, received: string) {
    super(
      'TOLLGATE_ERR_INVALID_QUANTITY',
      `${field}: expected an integer from 0 to 2^53 - 1, received ${received}`,
      { field },
    );
  }
}

export class InvalidIdentifierError extends TollgateError {
  constructor(field: string) {
    super(
      'TOLLGATE_ERR_INVALID_IDENTIFIER',
      `${field}: expected 1-128 characters from A-Z a-z 0-9 _ - . :`,
      { field },
    );
  }
}

export function validationError(field: string, expected: string): TollgateError {
  return new TollgateError('TOLLGATE_ERR_VALIDATION', `${field}: ${expected}`, { field });
}
