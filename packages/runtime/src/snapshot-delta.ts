import { unpack } from 'msgpackr';
import { TollgateError } from '@tollgate/core';
import { encodeSnapshot } from '@tollgate/snapshot';
import type { SnapshotCustomer, SnapshotInput } from '@tollgate/snapshot';

/** A delta as `GET /v1/snapshot/delta` sends it, in msgpack. */
interface SnapshotDelta {
  version: number;
  createdAtMs: number;
  usageWatermark: number;
  customers: SnapshotCustomer[];
}

/**
 * Applies a delta to the decoded snapshot held and encodes the result, which the caller
 * verifies and loads like any fetched snapshot. Changed customers replace their old rows;
 * new ones are appended. The encoder checks every invariant, so a delta that breaks one
 * is refused with the rest of the garbage (`TOLLGATE_ERR_SNAPSHOT_STREAM`).
 */
export function applyDelta(base: SnapshotInput, bytes: Uint8Array): Uint8Array {
  const delta = readDelta(bytes);
  const changed = new Map(delta.customers.map((customer) => [customer.id, customer]));
  const customers = base.customers.map((customer) => changed.get(customer.id) ?? customer);
  const known = new Set(base.customers.map((customer) => customer.id));
  for (const customer of delta.customers) if (!known.has(customer.id)) customers.push(customer);
  try {
    return encodeSnapshot({
      ...base,
      snapshotVersion: delta.version,
      createdAtMs: delta.createdAtMs,
      usageWatermark: delta.usageWatermark,
      customers,
    });
  } catch (cause) {
    throw streamError('the snapshot delta breaks an invariant', cause);
  }
}

function readDelta(bytes: Uint8Array): SnapshotDelta {
  let value: unknown;
  try {
    value = unpack(bytes);
  } catch (cause) {
    throw streamError('the snapshot delta is not msgpack', cause);
  }
  const delta = value as Partial<SnapshotDelta> | null;
  const integer = (n: unknown): boolean => Number.isSafeInteger(n) && (n as number) >= 0;
  if (
    typeof delta !== 'object' ||
    delta === null ||
    !integer(delta.version) ||
    !integer(delta.createdAtMs) ||
    !integer(delta.usageWatermark) ||
    !Array.isArray(delta.customers)
  ) {
    throw streamError('the snapshot delta lacks version, instants or customers');
  }
  return delta as SnapshotDelta;
}

export function streamError(message: string, cause?: unknown): TollgateError {
  return new TollgateError('TOLLGATE_ERR_SNAPSHOT_STREAM', message, { cause });
}
