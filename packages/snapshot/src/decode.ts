import { FeatureKind } from '@tollgate/core';
import type {
  SnapshotCurrency,
  SnapshotCustomer,
  SnapshotFeature,
  SnapshotInput,
} from './input.js';
import { corrupt, readAmount, verifySnapshot } from './header.js';
import type { SnapshotHeader } from './header.js';
import { assertSnapshotInput } from './invariants.js';
import { fnv1a32 } from './hash.js';
import {
  BALANCE_ROW_SIZE,
  BalanceRow,
  CURRENCY_ROW_SIZE,
  CUSTOMER_RECORD_SIZE,
  CustomerRecord,
  ENTITLEMENT_ROW_SIZE,
  EntitlementRow,
  FEATURE_FLAG_REQUIRES_SEAT,
  FEATURE_ROW_SIZE,
  FeatureRow,
  ID_BYTES_MAX,
  INDEX_SLOT_SIZE,
  SEAT_ROW_SIZE,
  SeatRow,
} from './layout.js';

/** The catalog part of a snapshot: small, so hosts decode it even when rows stay binary. */
export interface SnapshotCatalog {
  currencies: SnapshotCurrency[];
  features: SnapshotFeature[];
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Verifies and fully decodes a snapshot, then checks every invariant the encoder checks.
 * Throws `TOLLGATE_ERR_SNAPSHOT_CORRUPT` (or `_UNSUPPORTED`) on any mismatch.
 */
export function decodeSnapshot(bytes: Uint8Array): SnapshotInput {
  const header = verifySnapshot(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { currencies, features } = decodeCatalog(bytes, header);
  const customers: SnapshotCustomer[] = [];
  for (let index = 0; index < header.customerCount; index++) {
    customers.push(decodeCustomer(bytes, view, header, index));
  }
  verifyIndex(bytes, view, header);
  for (const [index, holders] of decodeSeatRows(bytes, header)) {
    (customers[index] as SnapshotCustomer).seatHolders = holders;
  }

  const input: SnapshotInput = {
    snapshotVersion: header.snapshotVersion,
    createdAtMs: header.createdAtMs,
    usageWatermark: header.usageWatermark,
    currencies,
    features,
    customers,
  };
  assertSnapshotInput(input, (field, expected) => corrupt(`${field}: expected ${expected}`));
  return input;
}

/** Decodes the currency and feature tables of a verified snapshot. */
export function decodeCatalog(bytes: Uint8Array, header: SnapshotHeader): SnapshotCatalog {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const currencies: SnapshotCurrency[] = [];
  for (let index = 0; index < header.currencyCount; index++) {
    const row = header.sections.currencies + index * CURRENCY_ROW_SIZE;
    currencies.push({ code: readString(bytes, view, header, row, `currencies[${index}]`) });
  }

  const features: SnapshotFeature[] = [];
  for (let index = 0; index < header.featureCount; index++) {
    const row = header.sections.features + index * FEATURE_ROW_SIZE;
    const field = `features[${index}]`;
    const kind = view.getUint8(row + FeatureRow.kind) as FeatureKind;
    if (kind < FeatureKind.Boolean || kind > FeatureKind.Seats) throw corrupt(`${field}.kind`);
    const flags = view.getUint8(row + FeatureRow.flags);
    if ((flags & ~FEATURE_FLAG_REQUIRES_SEAT) !== 0 || view.getUint16(row + 10, true) !== 0) {
      throw corrupt(`${field}: reserved bits set`);
    }
    features.push({
      key: readString(bytes, view, header, row, field),
      kind,
      currencyIndex: view.getUint32(row + FeatureRow.currency, true),
      costPerUnit: readAmount(view, row + FeatureRow.cost, `${field}.costPerUnit`),
      requiresSeat: flags === FEATURE_FLAG_REQUIRES_SEAT,
    });
  }
  return { currencies, features };
}

function decodeCustomer(
  bytes: Uint8Array,
  view: DataView,
  header: SnapshotHeader,
  index: number,
): SnapshotCustomer {
  const record = header.sections.customers + index * CUSTOMER_RECORD_SIZE;
  const field = `customers[${index}]`;
  const customer: SnapshotCustomer = {
    id: readString(bytes, view, header, record, field),
    nextChangeAtMs: readAmount(view, record + CustomerRecord.nextChangeAtMs, field),
    entitlements: [],
    balances: [],
  };
  for (let feature = 0; feature < header.featureCount; feature++) {
    const rowIndex = index * header.featureCount + feature;
    const row = header.sections.entitlements + rowIndex * ENTITLEMENT_ROW_SIZE;
    const at = `${field}.entitlements[${feature}]`;
    const access = view.getUint8(row + EntitlementRow.access);
    if (access > 1) throw corrupt(`${at}.access`);
    if (view.getUint16(row + 2, true) !== 0 || view.getUint32(row + 4, true) !== 0) {
      throw corrupt(`${at}: reserved bytes set`);
    }
    const limit = readAmount(view, row + EntitlementRow.limit, `${at}.limit`);
    if (limit < -1) throw corrupt(`${at}.limit`);
    customer.entitlements.push({
      access: access === 1,
      limit: limit === -1 ? null : limit,
      used: readAmount(view, row + EntitlementRow.used, `${at}.used`),
      resetAtMs: readAmount(view, row + EntitlementRow.resetAtMs, `${at}.resetAtMs`),
      behavior: view.getUint8(row + EntitlementRow.behavior),
    });
  }
  for (let currency = 0; currency < header.currencyCount; currency++) {
    const rowIndex = index * header.currencyCount + currency;
    const row = header.sections.balances + rowIndex * BALANCE_ROW_SIZE;
    const at = `${field}.balances[${currency}]`;
    customer.balances.push({
      balance: readAmount(view, row + BalanceRow.balance, `${at}.balance`),
      behavior: view.getUint8(row + BalanceRow.behavior),
    });
  }
  return customer;
}

/** Every customer must be found by its own hash, and the table must hold nothing else. */
function verifyIndex(bytes: Uint8Array, view: DataView, header: SnapshotHeader): void {
  const slotMask = header.indexSlotCount - 1;
  let occupied = 0;
  for (let slot = 0; slot < header.indexSlotCount; slot++) {
    const value = view.getUint32(header.sections.index + slot * INDEX_SLOT_SIZE, true);
    if (value > header.customerCount) throw corrupt('customer index points past the records');
    if (value !== 0) occupied++;
  }
  if (occupied !== header.customerCount) throw corrupt('customer index count mismatch');

  for (let index = 0; index < header.customerCount; index++) {
    const record = header.sections.customers + index * CUSTOMER_RECORD_SIZE;
    const idOffset = view.getUint32(record + CustomerRecord.idOffset, true);
    const idLength = view.getUint32(record + CustomerRecord.idLength, true);
    let slot = fnv1a32(bytes.subarray(idOffset, idOffset + idLength)) & slotMask;
    let value = view.getUint32(header.sections.index + slot * INDEX_SLOT_SIZE, true);
    while (value !== 0 && value !== index + 1) {
      slot = (slot + 1) & slotMask;
      value = view.getUint32(header.sections.index + slot * INDEX_SLOT_SIZE, true);
    }
    if (value === 0) throw corrupt(`customers[${index}] is missing from the index`);
  }
}

/** Reads the (offset, length) pair at `row` as a string inside the string section. */
function readString(
  bytes: Uint8Array,
  view: DataView,
  header: SnapshotHeader,
  row: number,
  field: string,
): string {
  const offset = view.getUint32(row, true);
  const length = view.getUint32(row + 4, true);
  const start = header.sections.strings;
  const end = start + header.stringsLength;
  if (length === 0 || length > ID_BYTES_MAX || offset < start || offset + length > end) {
    throw corrupt(`${field}: string out of bounds`);
  }
  try {
    return decoder.decode(bytes.subarray(offset, offset + length));
  } catch (cause) {
    throw corrupt(`${field}: string is not UTF-8`, String(cause));
  }
}

/**
 * The seat holders of a verified snapshot by customer id. Hosts of the Wasm evaluator
 * call this at load: the evaluator leaves `no_seat` to the host.
 */
export function decodeSeatHolders(
  bytes: Uint8Array,
  header: SnapshotHeader,
): Map<string, Set<string>> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const byCustomer = new Map<string, Set<string>>();
  for (const [index, holders] of decodeSeatRows(bytes, header)) {
    const record = header.sections.customers + index * CUSTOMER_RECORD_SIZE;
    byCustomer.set(
      readString(bytes, view, header, record, `customers[${index}]`),
      new Set(holders),
    );
  }
  return byCustomer;
}

/**
 * Reads the seat rows as (customer record index, user ids). Throws corrupt when a row
 * names a customer past the records, sets reserved bytes, or breaks the canonical order.
 */
function decodeSeatRows(bytes: Uint8Array, header: SnapshotHeader): Map<number, string[]> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows = new Map<number, string[]>();
  let previous = -1;
  for (let seat = 0; seat < header.seatCount; seat++) {
    const row = header.sections.seats + seat * SEAT_ROW_SIZE;
    const field = `seats[${seat}]`;
    const customer = view.getUint32(row + SeatRow.customer, true);
    if (customer >= header.customerCount || customer < previous) {
      throw corrupt(`${field}.customer out of order or range`);
    }
    if (view.getUint32(row + 12, true) !== 0) throw corrupt(`${field}: reserved bytes set`);
    const user = readString(bytes, view, header, row + SeatRow.userOffset, `${field}.user`);
    const holders = rows.get(customer) ?? [];
    if (holders.length > 0 && (holders.at(-1) as string) >= user) {
      throw corrupt(`${field}.user out of order`);
    }
    holders.push(user);
    rows.set(customer, holders);
    previous = customer;
  }
  return rows;
}
