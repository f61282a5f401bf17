import { TollgateError } from '@tollgate/core';
import type { ControlPlaneClient, UsageEvent } from './control-plane-client.js';
import { CarryLog } from './carry-log.js';
import { channelNames, publish } from './diagnostics.js';
import type { ResolvedOptions } from './options.js';
import type { SharedFigures } from './threads/shared-figures.js';
import { UsageBatcher } from './usage-batcher.js';
import type { UsageStats } from './usage-batcher.js';

/** Where a runtime sends the usage event of every allowed use. */
export interface UsageSink {
  /** Queues the event of one use and keeps it for the carry-over until a snapshot has it. */
  record(event: UsageEvent): void;
  /**
   * Applies `whenBufferFull` before new consumption: throws
   * `TOLLGATE_ERR_USAGE_BUFFER_FULL` under `refuse`, or drops the oldest unsent event.
   */
  makeRoom(): void;
  readonly stats: Readonly<UsageStats & { queueDepth: number }>;
  /** Delivers every queued event. */
  flush(): Promise<void>;
  /** Stops the timers and delivers every queued event. */
  close(): Promise<void>;
}

/**
 * The usage of the process: events queued for the control plane (`UsageBatcher`) and the
 * uses kept for the carry-over (`CarryLog`), under one local sequence. Worker threads'
 * uses arrive here too (`accept`), so one journal covers every thread's accounting.
 */
export class UsageJournal implements UsageSink {
  readonly carryLog = new CarryLog();
  readonly #batcher: UsageBatcher;
  readonly #options: ResolvedOptions;
  readonly #figures: SharedFigures;
  #seq = 0;

  constructor(
    client: ControlPlaneClient,
    options: ResolvedOptions,
    figures: SharedFigures,
    onBackgroundError: (error: unknown) => void,
  ) {
    this.#options = options;
    this.#figures = figures;
    this.#batcher = new UsageBatcher(client, {
      runtimeId: options.runtimeId,
      maxEvents: options.maxEvents,
      maxDelayMs: options.maxDelayMs,
      retry: options.retry,
      random: options.random,
      onBackgroundError,
      onAcknowledged: (seqs, ack) => {
        this.carryLog.acknowledge(seqs, ack.sequences);
        this.#publish();
      },
      onDropped: (seqs) => {
        this.carryLog.forget(seqs);
        this.#publish();
      },
    });
  }

  get stats(): Readonly<UsageStats & { queueDepth: number }> {
    return { ...this.#batcher.stats, queueDepth: this.#batcher.size };
  }

  record(event: UsageEvent): void {
    this.#seq += 1;
    this.#batcher.enqueue(this.#seq, event);
    this.carryLog.add(this.#seq, event.customer, event.feature, event.quantity, event.time);
    this.#publish();
  }

  /**
   * A worker thread's use, already decided and recorded in the shared accounting: it is
   * queued even past `bufferMax`, as a settle is, because the use happened. Under
   * `drop_oldest` the oldest unsent event makes room first.
   */
  accept(event: UsageEvent): void {
    if (this.#options.whenBufferFull === 'drop_oldest') this.#evictWhenFull();
    this.record(event);
  }

  /** A worker thread refused consumption because the buffer was full. */
  countRefused(): void {
    this.#batcher.stats.eventsRefused += 1;
    this.#publish();
  }

  makeRoom(): void {
    const { bufferMax, runtimeId } = this.#options;
    const queued = this.#batcher.size;
    if (queued < bufferMax) return;
    if (this.#options.whenBufferFull === 'drop_oldest' && this.#evictWhenFull()) return;
    this.countRefused();
    publish(channelNames.bufferFull, { runtimeId, queued, bufferMax, policy: 'refuse' });
    throw bufferFull(queued);
  }

  flush(): Promise<void> {
    return this.#batcher.flush();
  }

  close(): Promise<void> {
    return this.#batcher.close();
  }

  /** Drops the oldest unsent event when the buffer is full; false when none can go. */
  #evictWhenFull(): boolean {
    const { bufferMax, runtimeId } = this.#options;
    const queued = this.#batcher.size;
    if (queued < bufferMax) return true;
    const evicted = this.#batcher.evictOldest();
    if (evicted === null) return false;
    // Its use leaves the local accounting at the next refresh, as it was never billed.
    this.carryLog.forget([evicted.seq]);
    this.#publish();
    const policy = 'drop_oldest';
    publish(channelNames.bufferFull, {
      runtimeId,
      queued,
      bufferMax,
      policy,
      dropped: evicted.key,
    });
    return true;
  }

  #publish(): void {
    this.#figures.publishUsage(this.#batcher.stats, this.#batcher.size);
  }
}

/** The error consumption gets while `bufferMax` events wait under `refuse`. */
export function bufferFull(queued: number): TollgateError {
  return new TollgateError(
    'TOLLGATE_ERR_USAGE_BUFFER_FULL',
    'usage is not being acknowledged by the control plane; consumption is paused',
    { detail: `${queued} usage events queued` },
  );
}
