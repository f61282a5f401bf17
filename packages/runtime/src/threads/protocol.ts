import { TollgateError, isTollgateError } from '@tollgate/core';
import type { ErrorCode } from '@tollgate/core';
import type { SharedEvaluatorHandle } from '@tollgate/evaluator';
import type { MessagePort } from 'node:worker_threads';
import type { UsageEvent } from '../control-plane-client.js';
import type { FallbackPolicy, FeaturePolicy } from '../options.js';

// The messages between a worker thread's runtime and the main thread's, over the
// MessagePort of a `TollgateShare`. A worker posts a use or a hold inside the same lock
// as its evaluator call; the main thread drains every port under that lock before it
// swaps a snapshot in, so the carry-over sees every thread's uses and holds.

/** The settings a worker's runtime takes from the main thread's, as plain data. */
export interface WorkerSettings {
  runtimeId: string;
  reservationTtlMs: number;
  bufferMax: number;
  whenBufferFull: 'refuse' | 'drop_oldest';
  idempotencyKeysMax: number;
  features: Record<string, FeaturePolicy>;
  snapshotMaxAgeMs: number;
  whenEntryStale: FallbackPolicy;
}

/**
 * What a worker thread needs to attach to the main thread's runtime: post it in
 * `workerData` with `port` in the `transferList`, and pass it to `attachTollgate`.
 */
export interface TollgateShare {
  readonly evaluator: SharedEvaluatorHandle;
  /** The main thread's figures: freshness, queue depth and usage counters. */
  readonly figures: SharedArrayBuffer;
  /** This worker's end of its channel to the main thread; transfer it, once. */
  readonly port: MessagePort;
  readonly settings: WorkerSettings;
}

export type ToMain =
  | { type: 'hello'; slot: number }
  | { type: 'use'; event: UsageEvent }
  | { type: 'hold'; id: string; customer: string; feature: string; quantity: number }
  | { type: 'unhold'; id: string }
  | { type: 'refused' }
  | { type: 'call'; id: number; method: CallMethod; args: unknown[] }
  | { type: 'bye' };

export type CallMethod = 'consumeAsync' | 'refresh' | 'flush';

export type ToWorker =
  | { type: 'welcome' }
  | { type: 'reply'; id: number; value: unknown }
  | { type: 'failed'; id: number; error: CarriedError }
  | { type: 'lost'; ids: string[] };

/** A coded error, as it crosses threads: structured clone keeps no class. */
export interface CarriedError {
  code: ErrorCode;
  message: string;
  field?: string;
}

export function carryError(error: unknown): CarriedError {
  if (isTollgateError(error)) {
    const { code, message, field } = error;
    return field === undefined ? { code, message } : { code, message, field };
  }
  return { code: 'TOLLGATE_ERR_INTERNAL', message: 'the main thread failed the call' };
}

export function rebuildError(carried: CarriedError): TollgateError {
  const options = carried.field === undefined ? {} : { field: carried.field };
  return new TollgateError(carried.code, carried.message, options);
}
