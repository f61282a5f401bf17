import { describe, expect, it } from 'vitest';
import {
  InvalidQuantityError,
  ManualClock,
  Reason,
  TollgateError,
  assertIdentifier,
  httpStatusByReason,
  isTollgateError,
  parsePositiveQuantity,
  parseQuantity,
  reasonName,
  reasonNames,
} from '../src/index.js';

describe('Reason', () => {
  it('numbers reasons in precedence order with stable names', () => {
    expect(reasonNames).toEqual([
      'allowed',
      'unknown_customer',
      'unknown_feature',
      'no_access',
      'no_seat',
      'limit_exceeded',
      'insufficient_credits',
      'stale_snapshot',
    ]);
    expect(reasonName(Reason.InsufficientCredits)).toBe('insufficient_credits');
    expect(Reason.StaleSnapshot).toBe(7);
  });

  it('maps denials to 403, 402, 429 and 503', () => {
    expect(httpStatusByReason.no_access).toBe(403);
    expect(httpStatusByReason.insufficient_credits).toBe(402);
    expect(httpStatusByReason.limit_exceeded).toBe(429);
    expect(httpStatusByReason.stale_snapshot).toBe(503);
  });
});

describe('parseQuantity', () => {
  it('accepts integers from 0 to 2^53 - 1', () => {
    expect(parseQuantity(0)).toBe(0);
    expect(parseQuantity(Number.MAX_SAFE_INTEGER)).toBe(9_007_199_254_740_991);
  });

  it.each([
    [-1, '-1'],
    [1.5, '1.5'],
    [2 ** 53, '9007199254740992'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    ['5', '"5"'],
    [null, 'object'],
  ])('refuses %s naming the field', (value, shown) => {
    try {
      parseQuantity(value, 'events[2].quantity');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidQuantityError);
      expect((error as TollgateError).toJSON()).toEqual({
        code: 'TOLLGATE_ERR_INVALID_QUANTITY',
        message: `events[2].quantity: expected an integer from 0 to 2^53 - 1, received ${shown}`,
        field: 'events[2].quantity',
      });
      expect((error as TollgateError).status).toBe(400);
    }
  });

  it('refuses zero where a positive amount is required', () => {
    expect(() => parsePositiveQuantity(0)).toThrow('amount: expected an integer');
  });
});

describe('TollgateError', () => {
  it('is recognised by its brand, not by identity of the class', () => {
    const error = new TollgateError('TOLLGATE_ERR_NOT_FOUND', 'no such customer');
    const copy = Object.assign(Object.create(Error.prototype), error);
    Object.defineProperty(copy, Symbol.for('tollgate.error'), { value: true });
    expect(isTollgateError(error)).toBe(true);
    expect(isTollgateError(copy)).toBe(true);
    expect(isTollgateError(new Error('plain'))).toBe(false);
  });

  it('keeps internal detail out of the client body', () => {
    const error = new TollgateError('TOLLGATE_ERR_INTERNAL', 'failed', { detail: 'disk full' });
    expect(JSON.stringify(error)).toBe('{"code":"TOLLGATE_ERR_INTERNAL","message":"failed"}');
    expect(error.detail).toBe('disk full');
  });
});

describe('identifiers and clocks', () => {
  it('accepts 1-128 characters of the allowed set and refuses others', () => {
    expect(assertIdentifier('acme:eu-1.prod_2', 'customer')).toBe('acme:eu-1.prod_2');
    expect(() => assertIdentifier('', 'customer')).toThrow('customer: expected 1-128');
    expect(() => assertIdentifier('a b', 'customer')).toThrow('customer: expected 1-128');
    expect(() => assertIdentifier('x'.repeat(129), 'customer')).toThrow();
  });

  it('moves a manual clock only when told', () => {
    const clock = new ManualClock('2026-03-01T00:00:00Z');
    expect(clock.now()).toBe(Date.parse('2026-03-01T00:00:00Z'));
    clock.advance(1000);
    expect(clock.now()).toBe(Date.parse('2026-03-01T00:00:01Z'));
  });
});
