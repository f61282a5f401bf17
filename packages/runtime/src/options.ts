import { randomUUID } from 'node:crypto';
import { systemClock, validationError } from '@tollgate/core';
import type { Clock } from '@tollgate/core';
import type { Evaluator } from '@tollgate/evaluator';
import type { TollgateLogger } from './diagnostics.js';
import type { RetryOptions } from './usage-batcher.js';
import type { LeaseTermsOptions } from './lease-keeper.js';

/** Options of `createTollgate`. Only `controlPlaneUrl` and `apiKey` are required. */
export interface TollgateOptions {
  /** The control plane's base URL, e.g. `https://tollgate.internal:8080`. */
  controlPlaneUrl: string;
  /** A runtime key, sent as `Authorization: Bearer <apiKey>`. */
  apiKey: string;
  /** `wasm` (default), `reference` (the TypeScript evaluator), or an instance to use. */
  evaluator?: 'wasm' | 'reference' | Evaluator;
  /**
   * Load the Wasm evaluator over shared memory, so that worker threads can decide from
   * this runtime's one snapshot and accounting (`share()` and `attachTollgate`). Default
   * false; it needs `evaluator: 'wasm'`.
   */
  threads?: boolean;
  /** The source of decision instants; `systemClock` by default. */
  clock?: Clock;
  batch?: { maxEvents?: number; maxDelayMs?: number };
  /** Backoff of usage batches that fail with a 5xx or a network error. */
  retry?: Partial<RetryOptions>;
  /** How often to fetch a newer snapshot in the background; 0 turns it off. */
  refreshIntervalMs?: number;
  /** How long a reservation holds before it is released by itself. */
  reservationTtlMs?: number;
  /** Usage events queued and unacknowledged past which `whenBufferFull` applies. */
  bufferMax?: number;
  /**
   * With `bufferMax` events queued: `refuse` (default) throws
   * `TOLLGATE_ERR_USAGE_BUFFER_FULL` from new consumption, so every allowed use stays
   * billed; `drop_oldest` drops the oldest unsent event to make room (it is never billed)
   * and keeps deciding. Both count (`eventsRefused`, `eventsEvicted`) and publish
   * `tollgate:usage:buffer-full`.
   */
  whenBufferFull?: 'refuse' | 'drop_oldest';
  /** Idempotency keys remembered per runtime (least recently used forgotten first). */
  idempotencyKeysMax?: number;
  /** Identifies this runtime in generated idempotency keys and diagnostics. */
  runtimeId?: string;
  logger?: TollgateLogger;
  /** Per feature: how it is decided across instances, and what a stale snapshot means. */
  features?: Record<string, FeaturePolicy>;
  /** A snapshot not confirmed current for this long is stale (default 5 minutes). */
  snapshotMaxAgeMs?: number;
  /**
   * What a feature without `whenStale` does for a customer whose entry has passed its
   * next change (a trial or override end, a reset) until a newer snapshot arrives:
   * `deny` by default (`stale_snapshot`), so a trial never outlives its end.
   */
  whenEntryStale?: FallbackPolicy;
  /** Lease slices for features in `lease` mode. */
  lease?: Partial<LeaseTermsOptions>;
  /** Hold the control plane's push stream open (default true). */
  stream?: boolean;
  /**
   * A stream connection that sends nothing (no heartbeat) for this long is dropped and
   * reopened (default 30000: three of the control plane's default heartbeats).
   */
  streamSilenceMs?: number;
  /** The source of retry and reconnection jitter, in [0, 1) (default `Math.random`). */
  random?: () => number;
  /** Refresh with deltas, keeping a decoded copy of the snapshot (default true). */
  deltas?: boolean;
  /**
   * Deltas need a decoded copy of the snapshot, which for a large one costs a long pause
   * to build; above this many customers refreshes fetch in full instead (default 50,000).
   */
  deltasMaxCustomers?: number;
}

/**
 * `allow` or `deny` at once, or ask the control plane (a strict consume) and use
 * `otherwise` when it does not answer within `timeoutMs`. A synchronous `consume` cannot
 * ask, so it uses `otherwise` directly; `consumeAsync` asks.
 */
export type FallbackPolicy =
  'allow' | 'deny' | { ask: { timeoutMs: number; otherwise: 'allow' | 'deny' } };

export interface FeaturePolicy {
  /**
   * `local` (default): decided from the snapshot; `lease`: within a slice granted by the
   * control plane (`consumeAsync`); `strict`: one atomic control-plane call per consume.
   */
  mode?: 'local' | 'lease' | 'strict';
  /** When the snapshot is older than `maxAgeMs` (default: `snapshotMaxAgeMs`). */
  whenStale?: FallbackPolicy;
  maxAgeMs?: number;
  /** When the customer is not in the snapshot (default `deny`). */
  whenUnknownCustomer?: FallbackPolicy;
}

/** The options with every default applied and every number checked. */
export interface ResolvedOptions {
  controlPlaneUrl: string;
  threads: boolean;
  apiKey: string;
  clock: Clock;
  maxEvents: number;
  maxDelayMs: number;
  retry: RetryOptions;
  refreshIntervalMs: number;
  reservationTtlMs: number;
  bufferMax: number;
  whenBufferFull: 'refuse' | 'drop_oldest';
  idempotencyKeysMax: number;
  runtimeId: string;
  logger: TollgateLogger | undefined;
  features: Record<string, FeaturePolicy>;
  snapshotMaxAgeMs: number;
  whenEntryStale: FallbackPolicy;
  lease: LeaseTermsOptions;
  stream: boolean;
  streamSilenceMs: number;
  random: () => number;
  deltas: boolean;
  deltasMaxCustomers: number;
}

export function resolveOptions(options: TollgateOptions): ResolvedOptions {
  if (typeof options.controlPlaneUrl !== 'string' || !URL.canParse(options.controlPlaneUrl)) {
    throw validationError('controlPlaneUrl', 'expected an absolute URL');
  }
  if (typeof options.apiKey !== 'string' || options.apiKey.length === 0) {
    throw validationError('apiKey', 'expected a non-empty string');
  }
  const maxEvents = count(options.batch?.maxEvents ?? 500, 'batch.maxEvents', 1);
  return {
    controlPlaneUrl: options.controlPlaneUrl,
    threads: threadsOption(options),
    apiKey: options.apiKey,
    clock: options.clock ?? systemClock,
    maxEvents,
    maxDelayMs: count(options.batch?.maxDelayMs ?? 1000, 'batch.maxDelayMs', 0),
    retry: {
      baseDelayMs: count(options.retry?.baseDelayMs ?? 200, 'retry.baseDelayMs', 0),
      delayMaxMs: count(options.retry?.delayMaxMs ?? 10_000, 'retry.delayMaxMs', 0),
      attemptsMax: count(options.retry?.attemptsMax ?? 8, 'retry.attemptsMax', 1),
    },
    refreshIntervalMs: count(options.refreshIntervalMs ?? 30_000, 'refreshIntervalMs', 0),
    reservationTtlMs: count(options.reservationTtlMs ?? 300_000, 'reservationTtlMs', 1),
    bufferMax: count(options.bufferMax ?? 100_000, 'bufferMax', maxEvents),
    whenBufferFull: bufferPolicy(options.whenBufferFull),
    idempotencyKeysMax: count(options.idempotencyKeysMax ?? 10_000, 'idempotencyKeysMax', 1),
    runtimeId: options.runtimeId ?? randomUUID(),
    logger: options.logger,
    features: options.features ?? {},
    snapshotMaxAgeMs: count(options.snapshotMaxAgeMs ?? 300_000, 'snapshotMaxAgeMs', 1),
    whenEntryStale: options.whenEntryStale ?? 'deny',
    lease: {
      sliceSize: count(options.lease?.sliceSize ?? 100, 'lease.sliceSize', 1),
      renewBelowRatio: options.lease?.renewBelowRatio ?? 0.5,
      expirySafetyMs: count(options.lease?.expirySafetyMs ?? 2000, 'lease.expirySafetyMs', 0),
    },
    stream: options.stream ?? true,
    streamSilenceMs: count(options.streamSilenceMs ?? 30_000, 'streamSilenceMs', 1),
    random: options.random ?? Math.random,
    deltas: options.deltas ?? true,
    deltasMaxCustomers: count(options.deltasMaxCustomers ?? 50_000, 'deltasMaxCustomers', 0),
  };
}

function threadsOption(options: TollgateOptions): boolean {
  if (options.threads === undefined || options.threads === false) return false;
  if (options.threads !== true) throw validationError('threads', 'expected a boolean');
  const evaluator = options.evaluator ?? 'wasm';
  if (typeof evaluator === 'string' && evaluator !== 'wasm') {
    throw validationError('threads', "threads need evaluator: 'wasm'");
  }
  return true;
}

function bufferPolicy(value: unknown): 'refuse' | 'drop_oldest' {
  if (value === undefined) return 'refuse';
  if (value === 'refuse' || value === 'drop_oldest') return value;
  throw validationError('whenBufferFull', "expected 'refuse' or 'drop_oldest'");
}

function count(value: number, field: string, minimum: number): number {
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw validationError(field, `expected an integer of at least ${minimum}`);
  }
  return value;
}
