import type { Decision, FeatureKindName } from '@tollgate/core';
import type { Reservation, ReservationOutcome } from '../reservations.js';
import type { Runtime } from '../runtime.js';
import type {
  CheckOptions,
  ConsumeOptions,
  ReserveResult,
  SettleResult,
  Tollgate,
} from '../tollgate.js';
import type { UsageStats } from '../usage-batcher.js';
import type { TollgateShare } from './protocol.js';

/**
 * A worker thread's runtime as its application sees it: every call runs under the
 * shared evaluator's lock, so that a feature index looked up, the decision made with it
 * and the usage it posts to the main thread are one step no swap comes between.
 */
export class WorkerTollgate implements Tollgate {
  readonly #runtime: Runtime;
  readonly #exclusive: <T>(work: () => T) => T;

  constructor(runtime: Runtime, exclusive: <T>(work: () => T) => T) {
    this.#runtime = runtime;
    this.#exclusive = exclusive;
  }

  get runtimeId(): string {
    return this.#runtime.runtimeId;
  }

  get snapshotVersion(): number {
    return this.#exclusive(() => this.#runtime.snapshotVersion);
  }

  get usageStats(): Readonly<UsageStats & { queueDepth: number }> {
    return this.#runtime.usageStats;
  }

  now(): number {
    return this.#runtime.now();
  }

  featureKind(feature: string): FeatureKindName | null {
    return this.#exclusive(() => this.#runtime.featureKind(feature));
  }

  nextChangeAtMs(customer: string): number {
    return this.#exclusive(() => this.#runtime.nextChangeAtMs(customer));
  }

  check(customer: string, feature: string, quantity?: number, options?: CheckOptions): Decision {
    return this.#exclusive(() => this.#runtime.check(customer, feature, quantity, options));
  }

  consume(
    customer: string,
    feature: string,
    quantity?: number,
    options?: ConsumeOptions,
  ): Decision {
    return this.#exclusive(() => this.#runtime.consume(customer, feature, quantity, options));
  }

  /** Local features decide here at once; the main thread runs the others. */
  consumeAsync(
    customer: string,
    feature: string,
    quantity?: number,
    options?: ConsumeOptions,
  ): Promise<Decision> {
    return this.#exclusive(() => this.#runtime.consumeAsync(customer, feature, quantity, options));
  }

  reserve(
    customer: string,
    feature: string,
    estimate: number,
    options?: ConsumeOptions,
  ): ReserveResult {
    return this.#exclusive(() => this.#runtime.reserve(customer, feature, estimate, options));
  }

  settle(reservation: Reservation, actual: number): SettleResult {
    return this.#exclusive(() => this.#runtime.settle(reservation, actual));
  }

  release(reservation: Reservation): ReservationOutcome {
    return this.#exclusive(() => this.#runtime.release(reservation));
  }

  refresh(): Promise<boolean> {
    return this.#runtime.refresh();
  }

  flush(): Promise<void> {
    return this.#runtime.flush();
  }

  close(): Promise<void> {
    return this.#runtime.close();
  }

  /** Only the main thread shares: throws `TOLLGATE_ERR_THREAD_OWNER_ONLY`. */
  share(): TollgateShare {
    return this.#runtime.share();
  }
}
