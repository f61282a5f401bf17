/**
 * Snapshot format version 2: offsets and sizes. `assembly/src/layout.ts` mirrors these
 * numbers; `docs/snapshot-format.md` describes every field. All integers are little
 * endian; every section starts on an 8-byte boundary.
 *
 * ```
 * ╒══════════════════════ header (96 bytes) ═══════════════════════╕   byte
 * │ magic 'TGSN'                                                    │  0
 * │ format version (u16)         │ header size (u16)                │  4
 * │ checksum: CRC32 of every byte except these four                 │  8
 * │ total length in bytes (u32)                                     │ 12
 * │ snapshot version (i64)                                          │ 16
 * │ created at, epoch ms (i64)                                      │ 24
 * │ usage watermark (i64)                                           │ 32
 * │ currency count │ feature count │ customer count │ index slots   │ 40 (u32 × 4)
 * │ currencies │ features │ index │ customers │ entitlements        │ 56 (u32 offsets)
 * │ balances │ strings │ strings length │ seat count │ seats        │ 76 (u32 × 5)
 * ╞═════════════════════════════════════════════════════════════════╡
 * │ currency rows     × currencies   8 B: code offset, code length   │
 * │ feature rows      × features    24 B: see FeatureRow             │
 * │ customer index    × slots        4 B: record index + 1, 0 empty  │
 * │ customer records  × customers   16 B: id offset, id length, next │
 * │ entitlement rows  × customers × features    32 B                 │
 * │ balance rows      × customers × currencies  16 B                 │
 * │ seat rows         × seats       16 B: customer, user id          │
 * │ strings: customer ids, feature keys, currency codes, user ids    │
 * └──────────────────────────────────────────────────────────────────┘
 * ```
 */
export const SNAPSHOT_MAGIC = 0x4e534754; // 'TGSN' read as a little-endian u32.
export const SNAPSHOT_FORMAT_VERSION = 2;
export const HEADER_SIZE = 96;
export const SECTION_ALIGNMENT = 8;

/** Byte offsets of the header fields. */
export const Header = {
  magic: 0,
  formatVersion: 4,
  headerSize: 6,
  checksum: 8,
  totalLength: 12,
  snapshotVersion: 16,
  createdAtMs: 24,
  usageWatermark: 32,
  currencyCount: 40,
  featureCount: 44,
  customerCount: 48,
  indexSlotCount: 52,
  currenciesOffset: 56,
  featuresOffset: 60,
  indexOffset: 64,
  customersOffset: 68,
  entitlementsOffset: 72,
  balancesOffset: 76,
  stringsOffset: 80,
  stringsLength: 84,
  seatCount: 88,
  seatsOffset: 92,
} as const;

/** Currency row: where the code sits in the string section. */
export const CURRENCY_ROW_SIZE = 8;

/**
 * Feature row, 24 bytes:
 * ```
 * │ key offset (u32) │ key length (u32) │
 * │ kind (u8) │ flags (u8) │ 0 (u16) │ currency index (u32) │
 * │ cost per unit (i64)                                      │
 * ```
 */
export const FEATURE_ROW_SIZE = 24;
export const FeatureRow = { keyOffset: 0, keyLength: 4, kind: 8, flags: 9, currency: 12, cost: 16 };
export const FEATURE_FLAG_REQUIRES_SEAT = 1;

export const INDEX_SLOT_SIZE = 4;

/** Customer record, 16 bytes: id offset (u32), id length (u32), next change at ms (i64). */
export const CUSTOMER_RECORD_SIZE = 16;
export const CustomerRecord = { idOffset: 0, idLength: 4, nextChangeAtMs: 8 } as const;

/**
 * Entitlement row, 32 bytes, at `customer × featureCount + feature`:
 * ```
 * │ access (u8) │ behavior (u8) │ 0 (u16) │ 0 (u32) │
 * │ limit (i64), −1 = unlimited                      │
 * │ used (i64)                                       │
 * │ reset at, epoch ms (i64), 0 = never              │
 * ```
 */
export const ENTITLEMENT_ROW_SIZE = 32;
export const EntitlementRow = { access: 0, behavior: 1, limit: 8, used: 16, resetAtMs: 24 };

/** Balance row, 16 bytes, at `customer × currencyCount + currency`: balance, behavior. */
export const BALANCE_ROW_SIZE = 16;
export const BalanceRow = { balance: 0, behavior: 8 } as const;

/**
 * Seat row, 16 bytes: one user holding a seat of one customer. Rows are sorted by
 * customer record index, then by user id, with no duplicates, so the section is canonical.
 * ```
 * │ customer record index (u32) │ user id offset (u32) │
 * │ user id length (u32)        │ 0 (u32)              │
 * ```
 */
export const SEAT_ROW_SIZE = 16;
export const SeatRow = { customer: 0, userOffset: 4, userLength: 8 } as const;

/** Customer ids and feature keys are identifiers: at most 128 ASCII bytes. */
export const ID_BYTES_MAX = 128;
export const INDEX_SLOTS_MIN = 8;

/** The largest amount the format holds exactly in every evaluator. */
export const AMOUNT_MAX = Number.MAX_SAFE_INTEGER;

export function alignUp(offset: number, alignment = SECTION_ALIGNMENT): number {
  return Math.ceil(offset / alignment) * alignment;
}

/** Power-of-two slot count with at least two slots per customer, so probes stay short. */
export function indexSlotCountFor(customerCount: number): number {
  let slots = INDEX_SLOTS_MIN;
  while (slots < customerCount * 2) slots *= 2;
  return slots;
}
