// Linear memory, laid out by hand: the runtime is the stub and nothing on the hot path
// allocates. Scratch buffers and the control block sit at the heap base; snapshots sit
// in regions above them, each region holding the snapshot bytes followed by their local
// accounting.
//
// ╒══ data ══╤═ heap base ══════╤══════ region A ══════╤══════ region B ══════╕
// │ strings  │ scratch, control │ snapshot │ accounts  │ snapshot │ accounts  │ → grow
// └──────────┴──────────────────┴──────────────────────┴──────────────────────┘
//
// A new snapshot is staged in the low region when it fits below the active one, else
// just above the active one. Loads of similar size therefore alternate between two
// regions and memory stays bounded however many snapshots are loaded.

// A thread's scratch: the id buffer, the result area and the batch buffers. The shared
// build (--sharedMemory, several instances over one memory) keeps one scratch slot per
// attached thread, so two threads never write each other's buffers; the plain build has
// one. Slot 0 is the owner's, the thread that loads snapshots.
//
// ╒══════════ scratch slot (SLOT_SIZE bytes) ═══════════╕
// │ id (256) │ result (64) │ handles │ features │ quantities │ reasons │
// └─────────────────────────────────────────────────────┘
export const ID_BUFFER_SIZE: u32 = 256;

// Result area, read by the host after each decision:
// │ reason (i32) │ flags (i32): 1 limit is null, 2 remaining is null │  0
// │ limit (f64) │ used (f64) │ remaining (f64) │ cost (f64) │ reset at ms (f64) │ 8..48
export const RESULT_SIZE: u32 = 48;
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

const RESULT_AT: u32 = ID_BUFFER_SIZE;
const HANDLES_AT: u32 = RESULT_AT + 64;
const FEATURES_AT: u32 = HANDLES_AT + BATCH_CAPACITY * 4;
const QUANTITIES_AT: u32 = FEATURES_AT + BATCH_CAPACITY * 4;
const REASONS_AT: u32 = QUANTITIES_AT + BATCH_CAPACITY * 8;
const SLOT_SIZE: u32 = REASONS_AT + BATCH_CAPACITY;
export const THREAD_SLOTS: u32 = ASC_FEATURE_THREADS ? 64 : 1;
// Scratch slots and the control block sit at the heap base, not in data segments: an
// instance that joins a shared memory applies the module's data segments again, which
// would wipe a lock, a generation or another thread's buffers.
const scratch: usize = (__heap_base + 15) & ~(<usize>15);

export let idBuffer: usize = scratch;
export let resultBuffer: usize = scratch + RESULT_AT;
export let batchHandles: usize = scratch + HANDLES_AT;
export let batchFeatures: usize = scratch + FEATURES_AT;
export let batchQuantities: usize = scratch + QUANTITIES_AT;
export let batchReasons: usize = scratch + REASONS_AT;

/** Points this instance's buffers at scratch slot `slot`; false when there is none. */
export function useSlot(slot: u32): bool {
  if (slot >= THREAD_SLOTS) return false;
  const at = scratch + <usize>slot * SLOT_SIZE;
  idBuffer = at;
  resultBuffer = at + RESULT_AT;
  batchHandles = at + HANDLES_AT;
  batchFeatures = at + FEATURES_AT;
  batchQuantities = at + QUANTITIES_AT;
  batchReasons = at + REASONS_AT;
  return true;
}

// The control block tells every instance over the memory which snapshot is active. The
// owner writes it when it activates a snapshot; another instance compares the generation
// with the one it last read before each call and, when it moved, reads the pointers
// again. The lock and the slot bitmap are the host's: it holds the lock around every call
// in the shared build, so the words below change only under it.
//
// ╒═══════════════════════ control block (32 bytes) ═══════════════════════╕
// │ lock (i32) │ generation (u32) │ snapshot base (u32) │ accounts at (u32)  │  0
// │ slots in use, bits 0–31 │ bits 32–63 │ 0 (u32) │ 0 (u32)                 │ 16
// └────────────────────────────────────────────────────────────────────────┘
export const CONTROL_SIZE: u32 = 32;
export const controlBlock: usize = scratch + <usize>SLOT_SIZE * THREAD_SLOTS;
export const CB_GENERATION = 4;
export const CB_BASE = 8;
export const CB_ACCOUNTS = 12;

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

/** Where snapshot regions may start: above the scratch slots and the control block. */
function heapStart(): usize {
  return controlBlock + CONTROL_SIZE;
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
