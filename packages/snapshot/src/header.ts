import { crc32 } from 'node:zlib';
import { TollgateError } from '@tollgate/core';
import {
  BALANCE_ROW_SIZE,
  SEAT_ROW_SIZE,
  CURRENCY_ROW_SIZE,
  CUSTOMER_RECORD_SIZE,
  ENTITLEMENT_ROW_SIZE,
  FEATURE_ROW_SIZE,
  HEADER_SIZE,
  Header,
  INDEX_SLOT_SIZE,
  SNAPSHOT_FORMAT_VERSION,
  SNAPSHOT_MAGIC,
  alignUp,
} from './layout.js';

/** Where each section starts, in bytes from the start of the snapshot. */
export interface SnapshotSections {
  currencies: number;
  features: number;
  index: number;
  customers: number;
  entitlements: number;
  balances: number;
  seats: number;
  strings: number;
}

/** The counts that fix a snapshot's layout. */
export interface SnapshotCounts {
  currencyCount: number;
  featureCount: number;
  customerCount: number;
  indexSlotCount: number;
  /** Rows in the seat section: one per (customer, user holding a seat). */
  seatCount: number;
  stringsLength: number;
}

/** What `verifySnapshot` reports about a well-formed snapshot. */
export interface SnapshotHeader extends SnapshotCounts {
  formatVersion: number;
  snapshotVersion: number;
  createdAtMs: number;
  usageWatermark: number;
  totalLength: number;
  checksum: number;
  sections: SnapshotSections;
}

/**
 * The one layout a version 2 snapshot may have: sections in a fixed order, each starting
 * at the next 8-byte boundary. Readers demand exactly this, so no two sections overlap.
 */
export function planSections(counts: SnapshotCounts): SnapshotSections & { totalLength: number } {
  const currencies = HEADER_SIZE;
  const features = alignUp(currencies + counts.currencyCount * CURRENCY_ROW_SIZE);
  const index = alignUp(features + counts.featureCount * FEATURE_ROW_SIZE);
  const customers = alignUp(index + counts.indexSlotCount * INDEX_SLOT_SIZE);
  const entitlements = alignUp(customers + counts.customerCount * CUSTOMER_RECORD_SIZE);
  const entitlementRows = counts.customerCount * counts.featureCount;
  const balances = alignUp(entitlements + entitlementRows * ENTITLEMENT_ROW_SIZE);
  const balanceRows = counts.customerCount * counts.currencyCount;
  const seats = alignUp(balances + balanceRows * BALANCE_ROW_SIZE);
  const strings = alignUp(seats + counts.seatCount * SEAT_ROW_SIZE);
  const totalLength = strings + counts.stringsLength;
  return {
    currencies,
    features,
    index,
    customers,
    entitlements,
    balances,
    seats,
    strings,
    totalLength,
  };
}

/** CRC32 of every byte except the checksum field itself. */
export function checksumOf(bytes: Uint8Array): number {
  const before = crc32(bytes.subarray(0, Header.checksum));
  return crc32(bytes.subarray(Header.checksum + 4), before);
}

/**
 * `checksumOf` computed `sliceBytes` at a time, awaiting `pause()` between slices, so a
 * large snapshot can be checked while the event loop keeps answering requests.
 */
export async function checksumInSlices(
  bytes: Uint8Array,
  pause: () => Promise<void>,
  sliceBytes = 1 << 18,
): Promise<number> {
  let checksum = crc32(bytes.subarray(0, Math.min(Header.checksum, bytes.length)));
  for (let at = Header.checksum + 4; at < bytes.length; at += sliceBytes) {
    await pause();
    checksum = crc32(bytes.subarray(at, Math.min(at + sliceBytes, bytes.length)), checksum);
  }
  return checksum;
}

export function corrupt(message: string, detail?: string): TollgateError {
  return new TollgateError('TOLLGATE_ERR_SNAPSHOT_CORRUPT', `snapshot corrupt: ${message}`, {
    detail: detail ?? message,
  });
}

/**
 * Checks the header, the checksum and the section bounds without decoding the rows, and
 * returns the header. Throws `TOLLGATE_ERR_SNAPSHOT_UNSUPPORTED` for another format
 * version and `TOLLGATE_ERR_SNAPSHOT_CORRUPT` for anything else that is wrong. A caller
 * that computed the checksum already (`checksumInSlices`) passes it as `computed`.
 */
export function verifySnapshot(bytes: Uint8Array, computed?: number): SnapshotHeader {
  if (bytes.length < HEADER_SIZE) throw corrupt('truncated', `${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(Header.magic, true) !== SNAPSHOT_MAGIC) throw corrupt('bad magic');

  // The version is read before the checksum: a later format may checksum differently.
  const formatVersion = view.getUint16(Header.formatVersion, true);
  if (formatVersion !== SNAPSHOT_FORMAT_VERSION) {
    throw new TollgateError(
      'TOLLGATE_ERR_SNAPSHOT_UNSUPPORTED',
      `snapshot format version ${formatVersion} is not supported`,
      { detail: `expected ${SNAPSHOT_FORMAT_VERSION}` },
    );
  }
  if (view.getUint16(Header.headerSize, true) !== HEADER_SIZE) throw corrupt('bad header size');
  const totalLength = view.getUint32(Header.totalLength, true);
  if (totalLength !== bytes.length) {
    throw corrupt('truncated', `header says ${totalLength} bytes, received ${bytes.length}`);
  }
  const checksum = view.getUint32(Header.checksum, true);
  if ((computed ?? checksumOf(bytes)) !== checksum) throw corrupt('checksum mismatch');

  const header = readHeaderFields(view, formatVersion, totalLength, checksum);
  verifySections(header);
  return header;
}

function readHeaderFields(
  view: DataView,
  formatVersion: number,
  totalLength: number,
  checksum: number,
): SnapshotHeader {
  return {
    formatVersion,
    totalLength,
    checksum,
    snapshotVersion: readAmount(view, Header.snapshotVersion, 'snapshot version'),
    createdAtMs: readAmount(view, Header.createdAtMs, 'created at'),
    usageWatermark: readAmount(view, Header.usageWatermark, 'usage watermark'),
    currencyCount: view.getUint32(Header.currencyCount, true),
    featureCount: view.getUint32(Header.featureCount, true),
    customerCount: view.getUint32(Header.customerCount, true),
    indexSlotCount: view.getUint32(Header.indexSlotCount, true),
    seatCount: view.getUint32(Header.seatCount, true),
    stringsLength: view.getUint32(Header.stringsLength, true),
    sections: {
      currencies: view.getUint32(Header.currenciesOffset, true),
      features: view.getUint32(Header.featuresOffset, true),
      index: view.getUint32(Header.indexOffset, true),
      customers: view.getUint32(Header.customersOffset, true),
      entitlements: view.getUint32(Header.entitlementsOffset, true),
      balances: view.getUint32(Header.balancesOffset, true),
      seats: view.getUint32(Header.seatsOffset, true),
      strings: view.getUint32(Header.stringsOffset, true),
    },
  };
}

function verifySections(header: SnapshotHeader): void {
  const slots = header.indexSlotCount;
  if (slots === 0 || (slots & (slots - 1)) !== 0 || slots < header.customerCount * 2) {
    throw corrupt('section bounds out of range', `index slot count ${slots}`);
  }
  const planned = planSections(header);
  for (const name of Object.keys(header.sections) as (keyof SnapshotSections)[]) {
    if (header.sections[name] !== planned[name]) {
      throw corrupt('section bounds out of range', `${name} at ${header.sections[name]}`);
    }
  }
  if (planned.totalLength !== header.totalLength) {
    throw corrupt('section bounds out of range', `sections end at ${planned.totalLength}`);
  }
}

/**
 * Reads an i64 that must hold a safe integer: the format's range for every amount. The
 * two halves are combined in floating point, which is exact inside that range.
 */
export function readAmount(view: DataView, offset: number, field: string): number {
  const low = view.getUint32(offset, true);
  const high = view.getInt32(offset + 4, true);
  if (high > HIGH_MAX || high < -HIGH_MAX - 1 || (high === -HIGH_MAX - 1 && low === 0)) {
    throw corrupt(`${field} out of range`, `${field} at byte ${offset}`);
  }
  return high * TWO_TO_32 + low;
}

/** Splits a safe integer into the two little-endian halves of an i64. */
export function writeAmount(view: DataView, offset: number, value: number): void {
  const high = Math.floor(value / TWO_TO_32);
  view.setUint32(offset, value - high * TWO_TO_32, true);
  view.setInt32(offset + 4, high, true);
}

const TWO_TO_32 = 4294967296;
// The high half of 2^53 − 1: amounts fit in 21 bits above the low word, plus the sign.
const HIGH_MAX = 0x1fffff;
