/**
 * The binary snapshot, format version 2: what the control plane compiles and every
 * evaluator reads in place. See `docs/snapshot-format.md` for the layout.
 *
 * @example
 * ```ts
 * import { encodeSnapshot, verifySnapshot } from '@tollgate/snapshot';
 *
 * const bytes = encodeSnapshot(input);
 * const header = verifySnapshot(bytes); // throws TOLLGATE_ERR_SNAPSHOT_CORRUPT when damaged
 * console.log(header.snapshotVersion, header.customerCount);
 * ```
 */
export type {
  SnapshotInput,
  SnapshotCurrency,
  SnapshotFeature,
  SnapshotCustomer,
  SnapshotEntitlement,
  SnapshotBalance,
} from './input.js';
/** Writes a snapshot; throws `TOLLGATE_ERR_VALIDATION` naming the field that breaks a rule. */
export { encodeSnapshot } from './encode.js';
/** Verifies and decodes a whole snapshot, checking every invariant again. */
export { decodeSnapshot, decodeCatalog, decodeSeatHolders } from './decode.js';
export type { SnapshotCatalog } from './decode.js';
/** Checks magic, format version, length, checksum and section bounds; returns the header. */
export { verifySnapshot, planSections } from './header.js';
/** The checksum of a snapshot computed a slice at a time, for loads that must not pause. */
export { checksumInSlices } from './header.js';
export type { SnapshotHeader, SnapshotSections, SnapshotCounts } from './header.js';
/** The hash of the customer index, shared with the Wasm evaluator. */
export { fnv1a32 } from './hash.js';
export {
  SNAPSHOT_MAGIC,
  SNAPSHOT_FORMAT_VERSION,
  HEADER_SIZE,
  ENTITLEMENT_ROW_SIZE,
  CUSTOMER_RECORD_SIZE,
  BALANCE_ROW_SIZE,
  ID_BYTES_MAX,
  Header,
  indexSlotCountFor,
} from './layout.js';
