import { FeatureKind, LimitBehavior, isIdentifier, validationError } from '@tollgate/core';
import type { TollgateError } from '@tollgate/core';
import type { SnapshotCustomer, SnapshotInput } from './input.js';

/** Builds the error for a broken invariant: a validation error on write, corrupt on read. */
export type InvariantFailure = (field: string, expected: string) => TollgateError;

/**
 * Checks everything the format promises about its content. The encoder runs it before
 * writing (so a bad input never becomes bytes) and the decoder after reading (so a bad
 * writer is caught by the reader too).
 */
export function assertSnapshotInput(
  input: SnapshotInput,
  fail: InvariantFailure = validationError,
): void {
  assertCount(input.snapshotVersion, 'snapshotVersion', fail);
  assertCount(input.createdAtMs, 'createdAtMs', fail);
  assertCount(input.usageWatermark, 'usageWatermark', fail);
  assertUniqueIds(
    input.currencies.map((currency) => currency.code),
    'currencies',
    'code',
    fail,
  );
  assertUniqueIds(
    input.features.map((feature) => feature.key),
    'features',
    'key',
    fail,
  );

  input.features.forEach((feature, index) => {
    const field = `features[${index}]`;
    if (!Number.isInteger(feature.kind) || feature.kind < FeatureKind.Boolean) {
      throw fail(`${field}.kind`, 'a feature kind from 1 to 5');
    }
    if (feature.kind > FeatureKind.Seats) {
      throw fail(`${field}.kind`, 'a feature kind from 1 to 5');
    }
    const currencyMax = feature.kind === FeatureKind.Credits ? input.currencies.length : 1;
    if (!Number.isInteger(feature.currencyIndex) || feature.currencyIndex < 0) {
      throw fail(`${field}.currencyIndex`, 'an index into currencies');
    }
    if (feature.currencyIndex >= currencyMax) {
      throw fail(`${field}.currencyIndex`, 'an index into currencies (0 for non-credits)');
    }
    assertCount(feature.costPerUnit, `${field}.costPerUnit`, fail);
    if (typeof feature.requiresSeat !== 'boolean') {
      throw fail(`${field}.requiresSeat`, 'a boolean');
    }
  });

  assertUniqueIds(
    input.customers.map((customer) => customer.id),
    'customers',
    'id',
    fail,
  );
  input.customers.forEach((customer, index) => assertCustomer(input, customer, index, fail));
}

function assertCustomer(
  input: SnapshotInput,
  customer: SnapshotCustomer,
  index: number,
  fail: InvariantFailure,
): void {
  const field = `customers[${index}]`;
  assertCount(customer.nextChangeAtMs, `${field}.nextChangeAtMs`, fail);
  if (customer.entitlements.length !== input.features.length) {
    throw fail(`${field}.entitlements`, `one entitlement per feature (${input.features.length})`);
  }
  if (customer.balances.length !== input.currencies.length) {
    throw fail(`${field}.balances`, `one balance per currency (${input.currencies.length})`);
  }
  customer.entitlements.forEach((entitlement, feature) => {
    const at = `${field}.entitlements[${feature}]`;
    if (typeof entitlement.access !== 'boolean') throw fail(`${at}.access`, 'a boolean');
    if (entitlement.limit !== null) assertCount(entitlement.limit, `${at}.limit`, fail);
    assertCount(entitlement.used, `${at}.used`, fail);
    assertCount(entitlement.resetAtMs, `${at}.resetAtMs`, fail);
    assertBehavior(entitlement.behavior, `${at}.behavior`, fail);
  });
  customer.balances.forEach((balance, currency) => {
    const at = `${field}.balances[${currency}]`;
    if (!Number.isSafeInteger(balance.balance)) {
      throw fail(`${at}.balance`, 'an integer from -(2^53 - 1) to 2^53 - 1');
    }
    assertBehavior(balance.behavior, `${at}.behavior`, fail);
  });
  assertSeatHolders(customer.seatHolders, `${field}.seatHolders`, fail);
}

/** Seat holders are identifiers in strictly ascending order: sorted, each once. */
function assertSeatHolders(
  holders: string[] | undefined,
  field: string,
  fail: InvariantFailure,
): void {
  if (holders === undefined) return;
  if (!Array.isArray(holders)) throw fail(field, 'an array of user ids');
  holders.forEach((user, index) => {
    if (!isIdentifier(user)) throw fail(`${field}[${index}]`, 'an identifier');
    const previous = holders[index - 1];
    if (previous !== undefined && previous >= user) {
      throw fail(`${field}[${index}]`, 'user ids in ascending order, each once');
    }
  });
}

function assertCount(value: number, field: string, fail: InvariantFailure): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw fail(field, 'an integer from 0 to 2^53 - 1');
  }
}

function assertBehavior(value: LimitBehavior, field: string, fail: InvariantFailure): void {
  if (value !== LimitBehavior.Hard && value !== LimitBehavior.Soft) {
    throw fail(field, 'a limit behavior (0 hard, 1 soft)');
  }
}

function assertUniqueIds(
  ids: string[],
  collection: string,
  property: string,
  fail: InvariantFailure,
): void {
  const seen = new Set<string>();
  ids.forEach((id, index) => {
    if (!isIdentifier(id)) throw fail(`${collection}[${index}].${property}`, 'an identifier');
    if (seen.has(id)) throw fail(`${collection}[${index}].${property}`, `a unique ${property}`);
    seen.add(id);
  });
}
