// Snapshot format version 2 as the evaluator reads it in place. The TypeScript codec in
// packages/snapshot/src/layout.ts holds the same numbers; docs/snapshot-format.md has
// the full description. Little endian; every section starts on an 8-byte boundary.
//
// ╒══════════════════════ header (96 bytes) ═══════════════════════╕   byte
// │ magic 'TGSN'                                                    │  0
// │ format version (u16)         │ header size (u16)                │  4
// │ checksum: CRC32 of every byte except these four (host checks)   │  8
// │ total length in bytes (u32)                                     │ 12
// │ snapshot version (i64)                                          │ 16
// │ created at, epoch ms (i64)                                      │ 24
// │ usage watermark (i64)                                           │ 32
// │ currency count │ feature count │ customer count │ index slots   │ 40 (u32 × 4)
// │ currencies │ features │ index │ customers │ entitlements        │ 56 (u32 offsets)
// │ balances │ strings │ strings length │ seat count │ seats        │ 76 (u32 × 5)
// ╞═════════════════════════════════════════════════════════════════╡
// │ currency rows     × currencies   8 B: code offset, code length   │
// │ feature rows      × features    24 B                             │
// │ customer index    × slots        4 B: record index + 1, 0 empty  │
// │ customer records  × customers   16 B                             │
// │ entitlement rows  × customers × features    32 B                 │
// │ balance rows      × customers × currencies  16 B                 │
// │ seat rows         × seats       16 B: customer, user id          │
// │ strings: customer ids, feature keys, currency codes, user ids    │
// └──────────────────────────────────────────────────────────────────┘

export const SNAPSHOT_MAGIC: u32 = 0x4e534754;
export const FORMAT_VERSION: u32 = 2;
export const HEADER_SIZE: u32 = 96;

export const H_MAGIC = 0;
export const H_FORMAT_VERSION = 4;
export const H_HEADER_SIZE = 6;
export const H_TOTAL_LENGTH = 12;
export const H_SNAPSHOT_VERSION = 16;
export const H_CREATED_AT_MS = 24;
export const H_USAGE_WATERMARK = 32;
export const H_CURRENCY_COUNT = 40;
export const H_FEATURE_COUNT = 44;
export const H_CUSTOMER_COUNT = 48;
export const H_INDEX_SLOT_COUNT = 52;
export const H_CURRENCIES = 56;
export const H_FEATURES = 60;
export const H_INDEX = 64;
export const H_CUSTOMERS = 68;
export const H_ENTITLEMENTS = 72;
export const H_BALANCES = 76;
export const H_STRINGS = 80;
export const H_STRINGS_LENGTH = 84;
export const H_SEAT_COUNT = 88;
export const H_SEATS = 92;

// Feature row, 24 bytes:
// ╒═══════════════════════════════════════════════════════╕
// │ key offset (u32)             │ key length (u32)        │  0
// │ kind (u8) │ flags (u8) │ 0   │ currency index (u32)    │  8
// │ cost per unit (i64)                                    │ 16
// └────────────────────────────────────────────────────────┘
export const CURRENCY_ROW_SIZE: u32 = 8;
export const FEATURE_ROW_SIZE: u32 = 24;
export const F_KIND = 8;
export const F_CURRENCY = 12;
export const F_COST = 16;

export const INDEX_SLOT_SIZE: u32 = 4;

// Customer record, 16 bytes:
// │ id offset (u32) │ id length (u32) │ next change at ms (i64) │
export const CUSTOMER_RECORD_SIZE: u32 = 16;
export const C_ID_LENGTH = 4;
export const C_NEXT_CHANGE_AT_MS = 8;

// Entitlement row, 32 bytes, at customer × featureCount + feature:
// ╒══════════════════════════════════════════════════════╕
// │ access (u8) │ behavior (u8) │ 0 (u16) │ 0 (u32)      │  0
// │ limit (i64), −1 = unlimited                          │  8
// │ used (i64)                                           │ 16
// │ reset at, epoch ms (i64), 0 = never                  │ 24
// └──────────────────────────────────────────────────────┘
export const ENTITLEMENT_ROW_SIZE: u32 = 32;
export const E_ACCESS = 0;
export const E_BEHAVIOR = 1;
export const E_LIMIT = 8;
export const E_USED = 16;
export const E_RESET_AT_MS = 24;

// Balance row, 16 bytes, at customer × currencyCount + currency:
// │ balance (i64) │ behavior (u8) │ 0 × 7 │
export const BALANCE_ROW_SIZE: u32 = 16;
export const B_BALANCE = 0;
export const B_BEHAVIOR = 8;

// Seat row, 16 bytes: a user holding a seat of a customer. The host decides `no_seat`
// from these rows; the evaluator only checks that they stay in bounds.
// │ customer record index (u32) │ user id offset (u32) │ user id length (u32) │ 0 (u32) │
export const SEAT_ROW_SIZE: u32 = 16;
export const S_USER = 4;
export const S_RESERVED = 12;

// Local accounting lives beside the snapshot, one row per snapshot row, zeroed at load.
// Entitlement accounting, 24 bytes:
// │ consumed (i64) │ held (i64) │ phase (u32): 1 once consumption is after the reset │ 0 │
// Balance accounting, 16 bytes: │ consumed (i64) │ held (i64) │
export const ENTITLEMENT_ACCOUNT_SIZE: u32 = 24;
export const BALANCE_ACCOUNT_SIZE: u32 = 16;
export const A_CONSUMED = 0;
export const A_HELD = 8;
export const A_PHASE = 16;
export const PHASE_AFTER_RESET: u32 = 1;

export const ID_BYTES_MAX: u32 = 128;
