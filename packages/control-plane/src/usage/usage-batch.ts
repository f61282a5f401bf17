import { unpack } from 'msgpackr';
import { TollgateError, isTollgateError, isIdentifier, parseQuantity } from '@tollgate/core';
import type { Catalog, FeatureDefinition } from '@tollgate/catalog';

/** The usage batch format this server reads (`schema_version` in the body). */
export const usageSchemaVersion = 1;
export const batchEventsMax = 10_000;

export interface UsageEventInput {
  key: string;
  customer: string;
  feature: FeatureDefinition;
  quantity: number;
  timeMs: number;
  /** The lease the runtime decided this use under; null for a local or strict decision. */
  lease: string | null;
}

/**
 * Decodes and validates a whole msgpack batch before anything is stored, so a bad event
 * rejects the batch and leaves no partial write. Every failure is
 * `TOLLGATE_ERR_USAGE_BATCH_INVALID` naming the field, e.g. `events[3].quantity`.
 * Customers are checked later, inside the ingest transaction, by `knownCustomer`.
 */
export function parseUsageBatch(bytes: unknown, catalog: Catalog): UsageEventInput[] {
  if (!(bytes instanceof Uint8Array)) throw invalid('body', 'expected an application/msgpack body');
  let decoded: unknown;
  try {
    decoded = unpack(bytes);
  } catch {
    throw invalid('body', 'not valid msgpack');
  }
  if (typeof decoded !== 'object' || decoded === null) throw invalid('body', 'expected a map');
  const batch = decoded as Record<string, unknown>;
  if (batch.schema_version !== usageSchemaVersion) {
    throw invalid('schema_version', `expected ${usageSchemaVersion}`);
  }
  if (!Array.isArray(batch.events)) throw invalid('events', 'expected an array');
  if (batch.events.length > batchEventsMax) {
    throw invalid('events', `expected at most ${batchEventsMax} events`);
  }
  return batch.events.map((event: unknown, index) =>
    parseEvent(event, `events[${index}]`, catalog),
  );
}

function parseEvent(value: unknown, path: string, catalog: Catalog): UsageEventInput {
  if (typeof value !== 'object' || value === null) throw invalid(path, 'expected a map');
  const event = value as Record<string, unknown>;
  const key = readIdentifier(event.key, `${path}.key`);
  const customer = readIdentifier(event.customer, `${path}.customer`);
  const featureKey = readIdentifier(event.feature, `${path}.feature`);
  const feature = catalog.features.get(featureKey);
  if (feature === undefined) throw invalid(`${path}.feature`, `no feature named ${featureKey}`);
  if (feature.kind !== 'metered' && feature.kind !== 'credits') {
    throw invalid(`${path}.feature`, `${feature.kind} features take no usage`);
  }

  const quantity = rethrown(() => parseQuantity(event.quantity, `${path}.quantity`));
  if (!Number.isSafeInteger(quantity * feature.cost)) {
    throw invalid(`${path}.quantity`, 'the cost in credits exceeds 2^53 - 1');
  }
  const time = event.time instanceof Date ? event.time.getTime() : event.time;
  const timeMs = rethrown(() => parseQuantity(time, `${path}.time`));
  const lease = event.lease == null ? null : readIdentifier(event.lease, `${path}.lease`);
  return { key, customer, feature, quantity, timeMs, lease };
}

/** The error for an unknown customer, raised once the store has been asked. */
export function unknownCustomer(index: number, customer: string): TollgateError {
  return invalid(`events[${index}].customer`, `no customer named ${customer}`);
}

function readIdentifier(value: unknown, field: string): string {
  if (!isIdentifier(value))
    throw invalid(field, 'expected 1-128 characters from A-Z a-z 0-9 _ - . :');
  return value;
}

/** Quantity errors keep their message but carry the batch's code, as the whole batch fails. */
function rethrown<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!isTollgateError(error)) throw error;
    throw new TollgateError('TOLLGATE_ERR_USAGE_BATCH_INVALID', error.message, {
      field: error.field,
    });
  }
}

function invalid(field: string, expected: string): TollgateError {
  return new TollgateError('TOLLGATE_ERR_USAGE_BATCH_INVALID', `${field}: ${expected}`, { field });
}
