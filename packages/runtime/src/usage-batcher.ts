import { setTimeout as sleep } from 'node:timers/promises';
import type { ControlPlaneClient, UsageAck, UsageEvent } from './control-plane-client.js';
import { ControlPlaneError } from './control-plane-client.js';
import { channelNames, publish } from './diagnostics.js';

export interface RetryOptions {
  /** The first backoff; each further attempt doubles it, up to `delayMaxMs`. */
  baseDelayMs: number;
  delayMaxMs: number;
  /** Attempts per batch before a flush gives up (the events stay queued, in order). */
  attemptsMax: number;
}

export interface BatcherOptions {
  runtimeId: string;
  maxEvents: number;
  maxDelayMs: number;
  retry: RetryOptions;
  /** The source of retry jitter, in [0, 1). */
  random: () => number;
  /** Called with failures of sends nobody awaits (timer and count triggered). */
  onBackgroundError: (error: unknown) => void;
  /** Called once per acknowledged batch with the local sequence numbers it carried. */
  onAcknowledged?: (seqs: readonly number[], ack: UsageAck) => void;
  /** Called with the local sequence numbers of a batch refused whole (never counted). */
  onDropped?: (seqs: readonly number[]) => void;
}

/** Counters since the runtime started; events are counted once each. */
export interface UsageStats {
  eventsQueued: number;
  eventsAccepted: number;
  eventsDuplicate: number;
  eventsDropped: number;
  batchesDropped: number;
  /** Events the control plane refused one by one (a time outside its window). */
  eventsRejected: number;
  /** Consumption refused because the buffer was full (`whenBufferFull: 'refuse'`). */
  eventsRefused: number;
  /** Unsent events dropped, oldest first, to make room (`whenBufferFull: 'drop_oldest'`). */
  eventsEvicted: number;
}

interface QueuedEvent {
  seq: number;
  event: UsageEvent;
}

/**
 * Queues usage events in the order they were recorded and posts them in batches: when
 * `maxEvents` are waiting, or `maxDelayMs` after the oldest unsent one was queued. One
 * batch is in flight at a time, so the control plane receives events in order. A failed
 * batch stays at the head of the queue until it is delivered; only a batch the control
 * plane refuses as malformed (4xx) is dropped, counted and reported.
 *
 * A barrier (`limitTo`) can hold back events recorded after a sequence number. The
 * runtime does not set one: the snapshot's usage watermark tells which uses it includes.
 */
export class UsageBatcher {
  readonly #client: ControlPlaneClient;
  readonly #options: BatcherOptions;
  readonly #queue: QueuedEvent[] = [];
  readonly stats: UsageStats = {
    eventsQueued: 0,
    eventsAccepted: 0,
    eventsDuplicate: 0,
    eventsDropped: 0,
    batchesDropped: 0,
    eventsRejected: 0,
    eventsRefused: 0,
    eventsEvicted: 0,
  };
  /** How many events at the head of the queue the batch in flight carries. */
  #inFlight = 0;
  #sending: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #unscheduledCount = 0;
  #lastSeq = 0;
  #barrierSeq = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(client: ControlPlaneClient, options: BatcherOptions) {
    this.#client = client;
    this.#options = options;
  }

  /** Events queued and not yet acknowledged. */
  get size(): number {
    return this.#queue.length;
  }

  /**
   * Drops the oldest event not in flight to make room, and returns its sequence and key;
   * null when every queued event is in flight (nothing can be dropped).
   */
  evictOldest(): { seq: number; key: string } | null {
    if (this.#queue.length <= this.#inFlight) return null;
    const [evicted] = this.#queue.splice(this.#inFlight, 1);
    this.stats.eventsEvicted += 1;
    return { seq: evicted!.seq, key: evicted!.event.key };
  }

  enqueue(seq: number, event: UsageEvent): void {
    this.#queue.push({ seq, event });
    this.#lastSeq = seq;
    this.stats.eventsQueued += 1;
    this.#unscheduledCount += 1;
    if (this.#unscheduledCount >= this.#options.maxEvents) {
      this.#unscheduledCount = 0;
      this.#background(seq);
    } else {
      this.#armTimer();
    }
  }

  /** Delivers every event up to `seq` (default: all queued) and awaits acknowledgement. */
  flush(seq: number = this.#lastSeq): Promise<void> {
    return this.#drain(seq);
  }

  /** Holds back events recorded after `seq` until `limitTo(null)`. */
  limitTo(seq: number | null): void {
    this.#barrierSeq = seq ?? Number.POSITIVE_INFINITY;
    if (seq === null && this.#queue.length > 0) this.#armTimer();
  }

  /** Stops the timer and delivers everything still queued. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#clearTimer();
    this.#barrierSeq = Number.POSITIVE_INFINITY;
    await this.#drain(this.#lastSeq);
  }

  #background(seq: number): void {
    this.#drain(seq).catch(this.#options.onBackgroundError);
  }

  #armTimer(): void {
    if (this.#timer !== null || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#unscheduledCount = 0;
      this.#background(this.#lastSeq);
    }, this.#options.maxDelayMs);
    // A pending flush alone must not keep the process alive; close() flushes explicitly.
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Chains a send after the one in flight, so batches leave strictly in order. */
  #drain(seq: number): Promise<void> {
    const run = this.#sending.then(() => this.#sendUpTo(seq));
    this.#sending = run.then(
      () => this.#afterSend(),
      () => this.#afterSend(),
    );
    return run;
  }

  #afterSend(): void {
    if (this.#queue.length > 0 && this.#queue[0]!.seq <= this.#barrierSeq) this.#armTimer();
  }

  async #sendUpTo(seq: number): Promise<void> {
    const limitSeq = Math.min(seq, this.#barrierSeq);
    // Each round removes at least one event, so the queue's length bounds the loop.
    const roundsMax = this.#queue.length;
    for (let round = 0; round < roundsMax; round++) {
      const batch = this.#takeBatch(limitSeq);
      if (batch.length === 0) return;
      this.#inFlight = batch.length;
      try {
        await this.#deliver(batch);
      } finally {
        this.#inFlight = 0;
      }
      this.#queue.splice(0, batch.length);
    }
  }

  #takeBatch(limitSeq: number): QueuedEvent[] {
    const batch: QueuedEvent[] = [];
    for (const queued of this.#queue) {
      if (queued.seq > limitSeq || batch.length === this.#options.maxEvents) break;
      batch.push(queued);
    }
    return batch;
  }

  /** Posts one batch with bounded exponential backoff and full jitter. */
  async #deliver(queued: QueuedEvent[]): Promise<void> {
    const { runtimeId, retry } = this.#options;
    const batch = queued.map((entry) => entry.event);
    for (let attempt = 1; attempt <= retry.attemptsMax; attempt++) {
      try {
        const ack = await this.#client.postUsage(batch);
        this.#acknowledged(queued, ack);
        return;
      } catch (error) {
        if (error instanceof ControlPlaneError && error.permanent) {
          this.#drop(batch, error);
          this.#options.onDropped?.(queued.map((entry) => entry.seq));
          return;
        }
        if (attempt === retry.attemptsMax) throw error;
        const ceilingMs = Math.min(retry.delayMaxMs, retry.baseDelayMs * 2 ** (attempt - 1));
        const delayMs = Math.round(this.#options.random() * ceilingMs);
        publish(channelNames.usageRetry, { runtimeId, attempt, delayMs, error });
        await sleep(delayMs);
      }
    }
  }

  /** A duplicate counts as delivered; a rejected event is reported and never retried. */
  #acknowledged(queued: QueuedEvent[], ack: UsageAck): void {
    const { runtimeId } = this.#options;
    this.stats.eventsAccepted += ack.accepted;
    this.stats.eventsDuplicate += ack.duplicates;
    this.stats.eventsRejected += ack.rejected.length;
    const { accepted, duplicates } = ack;
    publish(channelNames.usageFlushed, { runtimeId, events: queued.length, accepted, duplicates });
    if (ack.rejected.length > 0) {
      publish(channelNames.usageRejected, { runtimeId, rejected: ack.rejected });
    }
    this.#options.onAcknowledged?.(
      queued.map((entry) => entry.seq),
      ack,
    );
  }

  #drop(batch: UsageEvent[], error: ControlPlaneError): void {
    this.stats.eventsDropped += batch.length;
    this.stats.batchesDropped += 1;
    publish(channelNames.usageDropped, {
      runtimeId: this.#options.runtimeId,
      events: batch.length,
      keys: batch.map((event) => event.key),
      error,
      body: error.body,
    });
  }
}
