import { FeatureKind, validationError } from '@tollgate/core';
import type { SnapshotInput } from './input.js';
import { checksumOf, planSections, writeAmount } from './header.js';
import type { SnapshotCounts, SnapshotSections } from './header.js';
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
  HEADER_SIZE,
  Header,
  INDEX_SLOT_SIZE,
  SEAT_ROW_SIZE,
  SNAPSHOT_FORMAT_VERSION,
  SeatRow,
  SNAPSHOT_MAGIC,
  indexSlotCountFor,
} from './layout.js';

/** Offsets past this cannot be written as the format's u32 offsets. */
const TOTAL_LENGTH_MAX = 0xffff_ffff;

/**
 * Writes a snapshot in format version 2. Throws `TOLLGATE_ERR_VALIDATION`, naming the
 * field, when the input breaks an invariant (duplicate ids, a missing entitlement, an
 * amount that is not a safe integer...); nothing is written in that case.
 */
export function encodeSnapshot(input: SnapshotInput): Uint8Array {
  assertSnapshotInput(input);
  const encoder = new TextEncoder();
  const seatCount = input.customers.reduce((sum, c) => sum + (c.seatHolders?.length ?? 0), 0);
  const strings = [
    ...input.customers.map((customer) => customer.id),
    ...input.features.map((feature) => feature.key),
    ...input.currencies.map((currency) => currency.code),
    ...input.customers.flatMap((customer) => customer.seatHolders ?? []),
  ];
  // Identifiers are ASCII, so each string's UTF-8 length is its length.
  const stringsLength = strings.reduce((sum, text) => sum + text.length, 0);
  const counts: SnapshotCounts = {
    currencyCount: input.currencies.length,
    featureCount: input.features.length,
    customerCount: input.customers.length,
    indexSlotCount: indexSlotCountFor(input.customers.length),
    seatCount,
    stringsLength,
  };
  const plan = planSections(counts);
  if (plan.totalLength > TOTAL_LENGTH_MAX) {
    throw validationError('customers', `a snapshot under 4 GiB (${plan.totalLength} bytes)`);
  }

  const bytes = new Uint8Array(plan.totalLength);
  const view = new DataView(bytes.buffer);
  const stringOffsets: number[] = [];
  let cursor = plan.strings;
  for (const text of strings) {
    stringOffsets.push(cursor);
    cursor += encoder.encodeInto(text, bytes.subarray(cursor)).written;
  }

  writeHeader(view, input, counts, plan);
  writeCatalog(view, input, plan, stringOffsets);
  writeCustomers(bytes, view, input, counts, plan, stringOffsets);
  writeSeats(view, input, { ...plan, seatCount }, stringOffsets);
  view.setUint32(Header.checksum, checksumOf(bytes), true);
  return bytes;
}

function writeHeader(
  view: DataView,
  input: SnapshotInput,
  counts: SnapshotCounts,
  plan: SnapshotSections & { totalLength: number },
): void {
  view.setUint32(Header.magic, SNAPSHOT_MAGIC, true);
  view.setUint16(Header.formatVersion, SNAPSHOT_FORMAT_VERSION, true);
  view.setUint16(Header.headerSize, HEADER_SIZE, true);
  view.setUint32(Header.totalLength, plan.totalLength, true);
  writeAmount(view, Header.snapshotVersion, input.snapshotVersion);
  writeAmount(view, Header.createdAtMs, input.createdAtMs);
  writeAmount(view, Header.usageWatermark, input.usageWatermark);
  view.setUint32(Header.currencyCount, counts.currencyCount, true);
  view.setUint32(Header.featureCount, counts.featureCount, true);
  view.setUint32(Header.customerCount, counts.customerCount, true);
  view.setUint32(Header.indexSlotCount, counts.indexSlotCount, true);
  view.setUint32(Header.currenciesOffset, plan.currencies, true);
  view.setUint32(Header.featuresOffset, plan.features, true);
  view.setUint32(Header.indexOffset, plan.index, true);
  view.setUint32(Header.customersOffset, plan.customers, true);
  view.setUint32(Header.entitlementsOffset, plan.entitlements, true);
  view.setUint32(Header.balancesOffset, plan.balances, true);
  view.setUint32(Header.stringsOffset, plan.strings, true);
  view.setUint32(Header.stringsLength, counts.stringsLength, true);
  view.setUint32(Header.seatCount, counts.seatCount, true);
  view.setUint32(Header.seatsOffset, plan.seats, true);
}

function writeCatalog(
  view: DataView,
  input: SnapshotInput,
  plan: SnapshotSections,
  stringOffsets: number[],
): void {
  const featureStrings = input.customers.length;
  const currencyStrings = featureStrings + input.features.length;
  input.currencies.forEach((currency, index) => {
    const row = plan.currencies + index * CURRENCY_ROW_SIZE;
    view.setUint32(row, stringOffsets[currencyStrings + index] as number, true);
    view.setUint32(row + 4, currency.code.length, true);
  });
  input.features.forEach((feature, index) => {
    const row = plan.features + index * FEATURE_ROW_SIZE;
    view.setUint32(
      row + FeatureRow.keyOffset,
      stringOffsets[featureStrings + index] as number,
      true,
    );
    view.setUint32(row + FeatureRow.keyLength, feature.key.length, true);
    view.setUint8(row + FeatureRow.kind, feature.kind);
    view.setUint8(row + FeatureRow.flags, feature.requiresSeat ? FEATURE_FLAG_REQUIRES_SEAT : 0);
    const currency = feature.kind === FeatureKind.Credits ? feature.currencyIndex : 0;
    view.setUint32(row + FeatureRow.currency, currency, true);
    writeAmount(view, row + FeatureRow.cost, feature.costPerUnit);
  });
}

function writeCustomers(
  bytes: Uint8Array,
  view: DataView,
  input: SnapshotInput,
  counts: SnapshotCounts,
  plan: SnapshotSections,
  stringOffsets: number[],
): void {
  const slotMask = counts.indexSlotCount - 1;
  input.customers.forEach((customer, index) => {
    const record = plan.customers + index * CUSTOMER_RECORD_SIZE;
    const idOffset = stringOffsets[index] as number;
    view.setUint32(record + CustomerRecord.idOffset, idOffset, true);
    view.setUint32(record + CustomerRecord.idLength, customer.id.length, true);
    writeAmount(view, record + CustomerRecord.nextChangeAtMs, customer.nextChangeAtMs);

    // Open addressing with linear probing; the table is at most half full, so it ends.
    let slot = fnv1a32(bytes.subarray(idOffset, idOffset + customer.id.length)) & slotMask;
    while (view.getUint32(plan.index + slot * INDEX_SLOT_SIZE, true) !== 0) {
      slot = (slot + 1) & slotMask;
    }
    view.setUint32(plan.index + slot * INDEX_SLOT_SIZE, index + 1, true);

    customer.entitlements.forEach((entitlement, feature) => {
      const row =
        plan.entitlements + (index * counts.featureCount + feature) * ENTITLEMENT_ROW_SIZE;
      view.setUint8(row + EntitlementRow.access, entitlement.access ? 1 : 0);
      view.setUint8(row + EntitlementRow.behavior, entitlement.behavior);
      writeAmount(view, row + EntitlementRow.limit, entitlement.limit ?? -1);
      writeAmount(view, row + EntitlementRow.used, entitlement.used);
      writeAmount(view, row + EntitlementRow.resetAtMs, entitlement.resetAtMs);
    });
    customer.balances.forEach((balance, currency) => {
      const row = plan.balances + (index * counts.currencyCount + currency) * BALANCE_ROW_SIZE;
      writeAmount(view, row + BalanceRow.balance, balance.balance);
      view.setUint8(row + BalanceRow.behavior, balance.behavior);
    });
  });
}

/** One row per seat holder, in customer order and then user order, as the strings are. */
function writeSeats(
  view: DataView,
  input: SnapshotInput,
  plan: SnapshotSections & { seatCount: number },
  stringOffsets: number[],
): void {
  let seat = 0;
  const firstUserString = stringOffsets.length - plan.seatCount;
  input.customers.forEach((customer, index) => {
    for (const user of customer.seatHolders ?? []) {
      const row = plan.seats + seat * SEAT_ROW_SIZE;
      view.setUint32(row + SeatRow.customer, index, true);
      view.setUint32(
        row + SeatRow.userOffset,
        stringOffsets[firstUserString + seat] as number,
        true,
      );
      view.setUint32(row + SeatRow.userLength, user.length, true);
      seat += 1;
    }
  });
}
