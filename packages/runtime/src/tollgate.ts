import type { Decision, FeatureKindName } from '@tollgate/core';
import type { Reservation, ReservationOutcome } from './reservations.js';
import type { UsageStats } from './usage-batcher.js';
import type { TollgateShare } from './threads/protocol.js';

export interface CheckOptions {
  /**
   * The user acting for the customer (an identifier). When given, a feature that
   * requires a seat is denied with `no_seat` unless the snapshot lists this user among
   * the customer's seat holders. `null` or no user at all holds no seat: a feature that
   * requires one is denied `no_seat` (seats fail closed).
   */
  user?: string | null;
}

export interface ConsumeOptions extends CheckOptions {
  /** Makes a retried call return the first decision and record nothing again. */
  idempotencyKey?: string;
}

export interface ReserveResult {
  decision: Decision;
  /** Null when the decision denied the request: nothing is held. */
  reservation: Reservation | null;
}

export interface SettleResult {
  /**
   * The quantity charged, in the feature's unit: what the usage event reports. Under a
   * hard limit it never exceeds what the balance covered; when the balance covered part
   * of a unit's credit cost, that unit counts as charged.
   */
  charged: number;
  /** What the charge took from the balance: credits for a credits feature, else `charged`. */
  cost: number;
  outcome: ReservationOutcome;
  /**
   * What the action used beyond what was charged, in the feature's unit: the part a hard
   * limit could not cover when `actual` exceeded the hold. 0 under a soft limit.
   */
  shortfall: number;
}

/**
 * A usage runtime: answers decisions from the loaded snapshot in process and reports
 * usage to the control plane in the background. Create one with `createTollgate`.
 *
 * Every decision method but `consumeAsync` is synchronous and never waits for the
 * network (lease mode may start a grant in the background; strict features need
 * `consumeAsync`). Quantities are
 * integers in the feature's unit; customers and idempotency keys are identifiers.
 *
 * @example
 * const { decision, reservation } = tollgate.reserve('cus_42', 'ai_tokens', 4000);
 * if (reservation !== null) {
 *   const reply = await model.complete(prompt);
 *   tollgate.settle(reservation, reply.usage.totalTokens);
 * }
 */
export interface Tollgate {
  /** Identifies this runtime in generated usage keys (`<runtimeId>:<seq>`) and diagnostics. */
  readonly runtimeId: string;
  /** The version of the snapshot decisions come from. */
  readonly snapshotVersion: number;
  /**
   * Usage events queued, accepted, duplicate, dropped, refused and evicted since the
   * runtime started, and `queueDepth`: the events waiting for acknowledgement now.
   */
  readonly usageStats: Readonly<UsageStats & { queueDepth: number }>;
  /** The instant decisions are made at, from the runtime's clock (epoch ms). */
  now(): number;
  /** The kind of a feature in the loaded snapshot; null when it has no such feature. */
  featureKind(feature: string): FeatureKindName | null;
  /**
   * The instant (epoch ms) the customer's entry in the snapshot held goes stale: its
   * next trial end, override end, period reset or grant change. 0 when none is due or the
   * customer is unknown. A decision at or after it starts a refresh (once per version).
   */
  nextChangeAtMs(customer: string): number;
  /** Decides whether `quantity` could be used now, recording nothing. */
  check(customer: string, feature: string, quantity?: number, options?: CheckOptions): Decision;
  /**
   * Decides and, when allowed, records the use and queues a usage event (metered and
   * credits features only). A repeated idempotency key returns the first decision.
   */
  consume(customer: string, feature: string, quantity?: number, options?: ConsumeOptions): Decision;
  /**
   * Consumes as the feature's mode says: `local` as `consume`; `lease` within a slice of
   * the balance granted to this runtime (waiting for a renewal only when the slice is
   * spent); `strict` by one atomic call to the control plane. Also asks the control plane
   * when the feature's stale or unknown-customer policy says `ask`.
   */
  consumeAsync(
    customer: string,
    feature: string,
    quantity?: number,
    options?: ConsumeOptions,
  ): Promise<Decision>;
  /** Decides as `consume` would and, when allowed, holds `estimate` until settled. */
  reserve(
    customer: string,
    feature: string,
    estimate: number,
    options?: ConsumeOptions,
  ): ReserveResult;
  /**
   * Turns the hold into a use of `actual` and queues its usage event. Idempotent. Throws
   * `TOLLGATE_ERR_RESERVATION_EXPIRED` once the TTL has passed (the hold was released).
   */
  settle(reservation: Reservation, actual: number): SettleResult;
  /** Gives the hold back; nothing is charged. Idempotent. */
  release(reservation: Reservation): ReservationOutcome;
  /**
   * Swaps in a newer snapshot under the carry-over rule; resolves true when one was
   * loaded. Rejects with `TOLLGATE_ERR_SNAPSHOT_OLDER` or `_CORRUPT`, keeping the one held.
   */
  refresh(): Promise<boolean>;
  /** Delivers every queued usage event; rejects with `TOLLGATE_ERR_CONTROL_PLANE`. */
  flush(): Promise<void>;
  /** Stops the timers and delivers every queued usage event. Later consumption throws. */
  close(): Promise<void>;
  /**
   * What a worker thread passes to `attachTollgate` to decide from this runtime's
   * snapshot and accounting in shared memory. Only for a runtime created with
   * `threads: true`, in the thread that created it; transfer `port` with it.
   */
  share(): TollgateShare;
}
