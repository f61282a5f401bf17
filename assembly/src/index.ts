// The exported ABI of the Tollgate evaluator. Every name carries the `tg_` prefix; the
// host checks tg_abi_version() before anything else and refuses a module it does not
// know. Amounts cross the boundary as f64 (exact up to 2^53 − 1) and are i64 inside.
//
// Loading: the host calls tg_stage(byteLength, customers, features, currencies), copies
// the snapshot bytes to the returned pointer, then calls tg_load(); or, to keep deciding
// meanwhile, tg_load_step(budget) until it answers 0 and then tg_activate(). A failed
// load leaves the active snapshot and its accounting serving.
//
// Deciding: the host writes the customer id's UTF-8 bytes into tg_id_buffer() and calls
// tg_customer_handle(length) for a handle (−1 when unknown; valid until the next load),
// then tg_decide(op, handle, feature, quantity, nowMs), which returns the reason and
// leaves the figures in tg_result_buffer().
//
// Threads: the shared build imports its memory, so several instances, one per thread,
// can serve one snapshot. The owner instance loads; another calls tg_attach(slot) first,
// for scratch buffers of its own. The host holds the lock word of tg_control_block()
// around every call; each export that reads the snapshot first adopts the one activated
// last (S.follow).

import * as M from './memory';
import * as S from './snapshot';
import { decide } from './decide';
import { record, release, settle } from './account';
import { findCustomer } from './lookup';
import { ID_BYTES_MAX, FORMAT_VERSION } from './layout';

/** Bumped whenever an export's meaning or a buffer layout changes. */
const ABI_VERSION: u32 = 3;

export function tg_abi_version(): u32 {
  return ABI_VERSION;
}

export function tg_format_version(): u32 {
  return FORMAT_VERSION;
}

export function tg_id_bytes_max(): u32 {
  return ID_BYTES_MAX;
}

export function tg_batch_capacity(): u32 {
  return M.BATCH_CAPACITY;
}

/** Scratch slots, so threads that may attach: 1 in the plain build. */
export function tg_thread_slots(): u32 {
  return M.THREAD_SLOTS;
}

/** Where the control block starts: the host's lock word is its first i32. */
export function tg_control_block(): usize {
  return M.controlBlock;
}

/** Uses scratch slot `slot` from now on; 0 when done, 1 when there is no such slot. */
export function tg_attach(slot: u32): i32 {
  return M.useSlot(slot) ? 0 : 1;
}

/** The activation this instance serves; it moves by one at every snapshot activated. */
export function tg_generation(): u32 {
  S.follow();
  return S.generation();
}

export function tg_id_buffer(): usize {
  return M.idBuffer;
}

export function tg_result_buffer(): usize {
  return M.resultBuffer;
}

/** Handles (i32), features (i32), quantities (f64) and reasons (u8), in that order. */
export function tg_batch_buffer(part: i32): usize {
  if (part == 0) return M.batchHandles;
  if (part == 1) return M.batchFeatures;
  if (part == 2) return M.batchQuantities;
  return M.batchReasons;
}

export function tg_stage(byteLength: u32, customers: u32, features: u32, currencies: u32): usize {
  return S.stageSnapshot(byteLength, customers, features, currencies);
}

export function tg_load(): i32 {
  return S.loadStaged();
}

/** Checks up to `budget` rows of the staged snapshot; 8 while more remain, 0 when done. */
export function tg_load_step(budget: u32): i32 {
  return S.loadStep(budget);
}

/** Makes the snapshot tg_load_step finished checking active, in constant time. */
export function tg_activate(): i32 {
  return S.activate();
}

export function tg_snapshot_version(): f64 {
  S.follow();
  return <f64>S.snapshotVersion;
}

export function tg_created_at_ms(): f64 {
  S.follow();
  return <f64>S.createdAtMs;
}

export function tg_usage_watermark(): f64 {
  S.follow();
  return <f64>S.usageWatermark;
}

export function tg_customer_count(): u32 {
  S.follow();
  return S.customerCount;
}

export function tg_customer_handle(idLength: u32): i32 {
  S.follow();
  return findCustomer(M.idBuffer, idLength);
}

export function tg_decide(op: i32, handle: i32, feature: i32, quantity: f64, nowMs: f64): i32 {
  S.follow();
  return decide(op, handle, feature, quantity, nowMs);
}

export function tg_release(handle: i32, feature: i32, quantity: f64, nowMs: f64): void {
  S.follow();
  release(handle, feature, quantity, nowMs);
}

export function tg_settle(handle: i32, feature: i32, held: f64, actual: f64, nowMs: f64): f64 {
  S.follow();
  return settle(handle, feature, held, actual, nowMs);
}

export function tg_record(handle: i32, feature: i32, quantity: f64, nowMs: f64): void {
  S.follow();
  record(handle, feature, quantity, nowMs);
}

/** Checks `count` requests from the batch buffers and writes one reason byte each. */
export function tg_check_batch(count: u32, nowMs: f64): void {
  S.follow();
  const n = count < M.BATCH_CAPACITY ? count : M.BATCH_CAPACITY;
  for (let index: u32 = 0; index < n; index++) {
    const handle = load<i32>(M.batchHandles + ((<usize>index) << 2));
    const feature = load<i32>(M.batchFeatures + ((<usize>index) << 2));
    const quantity = load<f64>(M.batchQuantities + ((<usize>index) << 3));
    store<u8>(M.batchReasons + index, <u8>decide(0, handle, feature, quantity, nowMs));
  }
}
