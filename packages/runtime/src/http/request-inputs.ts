import { TollgateError, isIdentifier } from '@tollgate/core';

/**
 * Where an identity (the customer, or the user for seats) comes from:
 *
 * - a header name, as a string or `{ header }`;
 * - `{ claim }`: a claim of the JWT payload the application has already verified and put
 *   on the request (each adapter knows the usual place; `claims` overrides it);
 * - a function of the framework's request (Express `req`, Koa `ctx`, Nest `request`).
 *
 * @example
 * const customer: IdentitySource<Request> = { claim: 'org_id' };
 */
export type IdentitySource<Request> =
  | string
  | { header: string }
  | { claim: string; claims?: (request: Request) => unknown }
  | ((request: Request) => string | undefined);

/** How much a request takes: a constant, or a function of the framework's request. */
export type QuantitySource<Request> = number | ((request: Request) => number);

/** The feature a route uses: a key, or a function of the request (`chat.${model}`). */
export type FeatureSource<Request> = string | ((request: Request) => string);

/** How an adapter reads its framework's request; the rest of the gate never looks inside. */
export interface RequestReader<Request> {
  /** A header's value, or undefined when it is absent. Names are lower-case. */
  header(request: Request, name: string): string | undefined;
  /** The verified JWT payload the application attached, where the framework keeps it. */
  claims(request: Request): unknown;
}

/**
 * Reads an identity; throws a coded 401 when it is absent and a coded 400 when it is not
 * an identifier. `field` names it in both messages (`customer`, `user`).
 */
export function identityOf<Request>(
  request: Request,
  source: IdentitySource<Request>,
  reader: RequestReader<Request>,
  field: 'customer' | 'user',
): string {
  const identity = readIdentity(request, source, reader);
  if (identity === undefined || identity === '') {
    throw new TollgateError('TOLLGATE_ERR_MISSING_CUSTOMER', missingMessage(source, field));
  }
  if (!isIdentifier(identity)) {
    throw new TollgateError(
      'TOLLGATE_ERR_INVALID_IDENTIFIER',
      `${field}: expected 1-128 characters from A-Z a-z 0-9 _ - . :`,
      { field },
    );
  }
  return identity;
}

function readIdentity<Request>(
  request: Request,
  source: IdentitySource<Request>,
  reader: RequestReader<Request>,
): unknown {
  if (typeof source === 'function') return source(request);
  if (typeof source === 'string') return reader.header(request, source.toLowerCase());
  if ('header' in source) return reader.header(request, source.header.toLowerCase());
  const claims = source.claims === undefined ? reader.claims(request) : source.claims(request);
  if (typeof claims !== 'object' || claims === null) return undefined;
  const value: unknown = (claims as Record<string, unknown>)[source.claim];
  // A numeric subject is common in JWTs; it is an identifier once written in decimal.
  return typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
}

function missingMessage<Request>(source: IdentitySource<Request>, field: string): string {
  const prefix = `the request names no ${field}`;
  if (typeof source === 'function') return prefix;
  if (typeof source === 'string') return `${prefix}: send the ${source} header`;
  if ('header' in source) return `${prefix}: send the ${source.header} header`;
  return `${prefix}: the verified token has no ${source.claim} claim`;
}

/**
 * Runs a quantity function. A TollgateError it throws (such as the InvalidQuantityError
 * of `parseQuantity(body.tokens, 'tokens')`) is the client's fault and passes through; a
 * value that is not a quantity is the application's fault and becomes a coded 500.
 */
export function quantityOf<Request>(request: Request, source: QuantitySource<Request>): number {
  if (typeof source === 'number') return source;
  return checkedQuantity(source(request), 'quantity function');
}

/** Checks what an application function returned as a quantity; a coded 500 otherwise. */
export function checkedQuantity(quantity: unknown, what: string): number {
  if (typeof quantity !== 'number' || !Number.isSafeInteger(quantity) || quantity < 0) {
    throw new TollgateError(
      'TOLLGATE_ERR_QUANTITY_FUNCTION',
      `the ${what} did not return an integer from 0 to 2^53 - 1`,
      { detail: `received ${typeof quantity === 'number' ? quantity : typeof quantity}` },
    );
  }
  return quantity;
}

/** The feature key of a request; a function that returns no string is a coded 500. */
export function featureOf<Request>(request: Request, source: FeatureSource<Request>): string {
  if (typeof source === 'string') return source;
  const feature: unknown = source(request);
  if (typeof feature !== 'string') {
    throw new TollgateError('TOLLGATE_ERR_INTERNAL', 'the feature function returned no key', {
      detail: `received ${typeof feature}`,
    });
  }
  return feature;
}

/** The `Idempotency-Key` request header, when the client sent one. */
export function idempotencyKeyOf<Request>(
  request: Request,
  reader: RequestReader<Request>,
): string | undefined {
  const key = reader.header(request, 'idempotency-key');
  return key === undefined || key === '' ? undefined : key;
}
