// Linear memory, laid out by hand: the runtime is the stub and nothing on the hot path
// allocates. Static buffers sit in data segments; snapshots sit in regions above the heap
// base, each region holding the snapshot bytes followed by their local accounting.
//
// ╒═════════ data ═════════╤══════ region A ══════╤══════ region B ══════╕
// │ id, result, batch bufs │ snapshot │ accounts  │ snapshot │ accounts  │ → memory.grow
// └────────────────────────┴──────────────────────┴──────────────────────┘
//
// A new snapshot is staged in the low region when it fits below the active one, else
// just above the active one. Loads of similar size therefore alternate between two
// regions and memory stays bounded however many snapshots are loaded.

export const ID_BUFFER_SIZE: u32 = 256;
export const idBuffer: usize = memory.data(ID_BUFFER_SIZE, 16);

// Result area, read by the host after each decision:
// │ reason (i32) │ flags (i32): 1 limit is null, 2 remaining is null │  0
// │ limit (f64) │ used (f64) │ remaining (f64) │ cost (f64) │ reset at ms (f64) │ 8..48
export const RESULT_SIZE: u32 = 48;
export const resultBuffer: usize = memory.data(RESULT_SIZE, 16);
export const R_REASON = 0;
export const R_FLAGS = 4;
export const R_LIMIT = 8;
export const R_USED = 16;
export const R_REMAINING = 24;
export const R_COST = 32;
export const R_RESET_AT_MS = 40;
export const FLAG_LIMIT_NULL: i32 = 1;
export const FLAG_REMAINING_NULL: i32 = 2;

// Batch buffers: handles (i32), features (i32), quantities (f64) in; reasons (u8) out.
export const BATCH_CAPACITY: u32 = 1024;
export const batchHandles: usize = memory.data(BATCH_CAPACITY * 4, 16);
export const batchFeatures: usize = memory.data(BATCH_CAPACITY * 4, 16);
export const batchQuantities: usize = memory.data(BATCH_CAPACITY * 8, 16);
export const batchReasons: usize = memory.data(BATCH_CAPACITY, 16);

const PAGE_SIZE: u64 = 65536;
const MEMORY_MAX: u64 = 65536 * PAGE_SIZE;

// Memory at or above this address has never held a region since the module started,
// so it is still the zero the engine gave it at memory.grow: clearing it again would only
// fault in fresh pages, which for a million customers is most of a first load's time.
export let usedEnd: usize = 0;

// The region in service, and the one being staged (0 when none).
export let activeStart: usize = 0;
export let activeEnd: usize = 0;
export let stagingStart: usize = 0;
export let stagingLength: u32 = 0;
export let stagingAccountsBytes: u64 = 0;

function heapStart(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}

/** Grows memory so that bytes below `end` exist; false when the engine refuses. */
function reserve(end: u64): bool {
  if (end > MEMORY_MAX) return false;
  const pagesNeeded = <i32>((end + PAGE_SIZE - 1) / PAGE_SIZE);
  const pagesHeld = memory.size();
  if (pagesNeeded <= pagesHeld) return true;
  return memory.grow(pagesNeeded - pagesHeld) >= 0;
}

/**
 * Picks and reserves a staging region for `byteLength` snapshot bytes plus
 * `accountsBytes` of accounting. Returns its start, or 0 when memory cannot grow.
 */
export function stage(byteLength: u32, accountsBytes: u64): usize {
  const need = ((<u64>byteLength + 7) & ~(<u64>7)) + accountsBytes;
  const low = heapStart();
  let start: u64 = low;
  if (activeStart != 0 && <u64>low + need > <u64>activeStart) {
    start = (<u64>activeEnd + 15) & ~(<u64>15);
  }
  if (!reserve(start + need)) return 0;
  stagingZeroFrom = usedEnd;
  if (<u64>usedEnd < start + need) usedEnd = <usize>(start + need);
  stagingStart = <usize>start;
  stagingLength = byteLength;
  stagingAccountsBytes = accountsBytes;
  return stagingStart;
}

// `usedEnd` before the staging region was reserved: the staged accounting at or above it
// is zero already.
let stagingZeroFrom: usize = 0;

/** Zeroes `[start, end)` of the staged accounting, skipping memory that was never used. */
export function zeroStaged(start: usize, end: usize): void {
  const limit = end < stagingZeroFrom ? end : stagingZeroFrom;
  if (limit > start) memory.fill(start, 0, limit - start);
}

/** Where the staged snapshot's accounting starts: right after its bytes, 8-aligned. */
export function stagingAccounts(): usize {
  return stagingStart + ((<usize>stagingLength + 7) & ~(<usize>7));
}

/** Makes the staged region the active one; its accounting was zeroed while checking. */
export function activateStaging(): void {
  const accounts = stagingAccounts();
  activeStart = stagingStart;
  activeEnd = accounts + <usize>stagingAccountsBytes;
  stagingStart = 0;
}
