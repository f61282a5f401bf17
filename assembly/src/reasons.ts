// The closed, numbered sets shared with TypeScript (packages/core/src/reasons.ts and
// features.ts). The numbers are part of the ABI and never change meaning.

export const REASON_ALLOWED = 0;
export const REASON_UNKNOWN_CUSTOMER = 1;
export const REASON_UNKNOWN_FEATURE = 2;
export const REASON_NO_ACCESS = 3;
// 4 (no_seat) and 7 (stale_snapshot) are decided by the host; the evaluator never returns them.
export const REASON_LIMIT_EXCEEDED = 5;
export const REASON_INSUFFICIENT_CREDITS = 6;

export const KIND_BOOLEAN: u8 = 1;
export const KIND_CONFIG: u8 = 2;
export const KIND_METERED: u8 = 3;
export const KIND_CREDITS: u8 = 4;
export const KIND_SEATS: u8 = 5;

export const BEHAVIOR_HARD: u8 = 0;
export const BEHAVIOR_SOFT: u8 = 1;

// Operations of tg_decide.
export const OP_CHECK = 0;
export const OP_CONSUME = 1;
export const OP_HOLD = 2;

// Status codes of tg_load; the host turns them into coded errors.
export const LOAD_OK = 0;
export const LOAD_NOT_STAGED = 1;
export const LOAD_TRUNCATED = 2;
export const LOAD_BAD_MAGIC = 3;
export const LOAD_UNSUPPORTED = 4;
export const LOAD_BAD_SECTIONS = 5;
export const LOAD_STAGING_MISMATCH = 6;
export const LOAD_BAD_VALUE = 7;
export const LOAD_IN_PROGRESS = 8;
