import type { Decision } from '@tollgate/core';

export interface LoadInStepsOptions {
  /** The longest stretch of loading work between two turns of the event loop. Default 1. */
  sliceMs?: number;
  /**
   * Runs synchronously the moment the new snapshot serves, before any other code can
   * decide from it: the place to record again what the new snapshot does not include.
   */
  onActivated?: () => void;
  /**
   * The CRC32 the caller already computed over these same bytes (`checksumInSlices`),
   * so that a host which verified them first does not compute it twice. It is still
   * compared with the header's checksum, and every other check still runs.
   */
  checksum?: number;
}

/**
 * The decision engine over one loaded snapshot plus the consumption and holds recorded
 * locally since that snapshot. Two implementations share these semantics exactly: the
 * Wasm evaluator (`WasmEvaluator`) and the TypeScript reference (`ReferenceEvaluator`).
 *
 * Quantities are validated by the caller (integers from 0 to 2^53 − 1); `nowMs` is the
 * instant of the decision, passed in, never read from a clock.
 */
export interface Evaluator {
  /**
   * Verifies and loads a snapshot. On any failure it throws a coded `TollgateError`
   * (`TOLLGATE_ERR_SNAPSHOT_CORRUPT`, `TOLLGATE_ERR_SNAPSHOT_UNSUPPORTED`) and the
   * snapshot already loaded, with its local accounting, keeps serving. On success local
   * accounting starts from zero; the caller re-applies what the new snapshot lacks.
   */
  load(bytes: Uint8Array): void;
  /**
   * Loads as `load` does, with turns of the event loop between slices of the work, so
   * that decisions go on while a large snapshot is checked; the swap is one step.
   */
  loadInSteps(bytes: Uint8Array, options?: LoadInStepsOptions): Promise<void>;
  /** 0 before the first load. */
  readonly snapshotVersion: number;
  readonly usageWatermark: number;
  readonly createdAtMs: number;
  /**
   * Whether `userId` holds one of the customer's seats in the loaded snapshot. The host
   * decides `no_seat` from this (see `Reason.NoSeat`); false for an unknown customer.
   */
  holdsSeat(customerId: string, userId: string): boolean;
  /**
   * The next instant (epoch ms) a resolved value of the customer changes — a trial or
   * override end, a period reset, a grant arriving or expiring — as the control plane
   * computed it. From then on the customer's entry is stale. 0 when none is due or the
   * customer is unknown.
   */
  nextChangeAtMs(customerId: string): number;
  /** Index of a feature in the loaded snapshot, −1 when unknown. */
  featureIndex(key: string): number;
  /** Decides without recording anything. */
  check(customerId: string, feature: number, quantity: number, nowMs: number): Decision;
  /** Decides and, when allowed, records the consumption locally. */
  consume(customerId: string, feature: number, quantity: number, nowMs: number): Decision;
  /** Decides as `consume` would and, when allowed, places a hold instead of consuming. */
  hold(customerId: string, feature: number, quantity: number, nowMs: number): Decision;
  /** Removes a hold placed by `hold` (same customer, feature and quantity). */
  release(customerId: string, feature: number, quantity: number, nowMs: number): void;
  /**
   * Turns a hold of `held` into a consumption of `actual`. When `actual` exceeds `held`
   * under a hard limit, it charges what is available (never below zero) and returns the
   * amount charged; under a soft limit it charges all of `actual`.
   */
  settle(customerId: string, feature: number, held: number, actual: number, nowMs: number): number;
  /** Records consumption without deciding: carries usage over to a newly loaded snapshot. */
  record(customerId: string, feature: number, quantity: number, nowMs: number): void;
}
