import { TollgateError, isIdentifier } from '@tollgate/core';
import type { Request } from 'express';

/** Where the customer id of a request comes from: a header name, or a function. */
export type CustomerSource = string | ((req: Request) => string | undefined);

/** How much a request takes: a constant, or a function of the request. */
export type QuantitySource = number | ((req: Request) => number);

/** Reads the customer id; throws a coded 401 when absent and a coded 400 when malformed. */
export function customerOf(req: Request, source: CustomerSource): string {
  const customer = typeof source === 'function' ? source(req) : req.get(source);
  if (customer === undefined || customer === '') {
    throw new TollgateError('TOLLGATE_ERR_MISSING_CUSTOMER', missingCustomerMessage(source));
  }
  if (!isIdentifier(customer)) {
    throw new TollgateError(
      'TOLLGATE_ERR_INVALID_IDENTIFIER',
      'customer: expected 1-128 characters from A-Z a-z 0-9 _ - . :',
      { field: 'customer' },
    );
  }
  return customer;
}

/**
 * Runs the quantity function. A TollgateError it throws (such as the InvalidQuantityError
 * of `parseQuantity(req.body.tokens, 'tokens')`) is the client's fault and passes through;
 * a value that is not a quantity is the application's fault and becomes a coded 500.
 */
export function quantityOf(req: Request, source: QuantitySource): number {
  if (typeof source === 'number') return source;
  const quantity: unknown = source(req);
  if (typeof quantity !== 'number' || !Number.isSafeInteger(quantity) || quantity < 0) {
    throw new TollgateError(
      'TOLLGATE_ERR_QUANTITY_FUNCTION',
      'the quantity function did not return an integer from 0 to 2^53 - 1',
      { detail: `received ${typeof quantity === 'number' ? quantity : typeof quantity}` },
    );
  }
  return quantity;
}

/** The `Idempotency-Key` header, when the client sent one. */
export function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  return key === undefined || key === '' ? undefined : key;
}

function missingCustomerMessage(source: CustomerSource): string {
  if (typeof source === 'function') return 'the request names no customer';
  return `the request names no customer: send the ${source} header`;
}
