import type { UsageStats } from '../usage-batcher.js';

// The figures the main thread's runtime keeps and worker threads read: when the snapshot
// was last confirmed, the earliest next change in it, the usage queue and its counters.
// Only the main thread writes. Float64Array elements never tear (ECMAScript's NoTear for
// typed-array element accesses), and every count is an integer below 2^53, so a worker
// reads each figure whole and exact, if a moment late.
const statNames = [
  'eventsQueued',
  'eventsAccepted',
  'eventsDuplicate',
  'eventsDropped',
  'batchesDropped',
  'eventsRejected',
  'eventsRefused',
  'eventsEvicted',
] as const satisfies readonly (keyof UsageStats)[];

const CONFIRMED_AT_MS = 0;
const EARLIEST_CHANGE_AT_MS = 1;
const QUEUE_DEPTH = 2;
const CLOSED = 3;
const STATS = 4;
const FIGURES = STATS + statNames.length;

/** Figures of the main thread's runtime, in a buffer its workers share. */
export class SharedFigures {
  readonly buffer: SharedArrayBuffer;
  readonly #values: Float64Array;

  /** Over a new buffer, or over `buffer` from another thread's `SharedFigures`. */
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(FIGURES * 8);
    this.#values = new Float64Array(this.buffer, 0, FIGURES);
    if (buffer === undefined) this.#values[EARLIEST_CHANGE_AT_MS] = Infinity;
  }

  /** True when `buffer` can be a `SharedFigures` buffer. */
  static fits(buffer: unknown): buffer is SharedArrayBuffer {
    return buffer instanceof SharedArrayBuffer && buffer.byteLength === FIGURES * 8;
  }

  /** When the control plane last confirmed the snapshot held is current (epoch ms). */
  get confirmedAtMs(): number {
    return this.#values[CONFIRMED_AT_MS]!;
  }

  set confirmedAtMs(value: number) {
    this.#values[CONFIRMED_AT_MS] = value;
  }

  /** The earliest next change of any customer in the snapshot held; Infinity for none. */
  get earliestChangeAtMs(): number {
    return this.#values[EARLIEST_CHANGE_AT_MS]!;
  }

  set earliestChangeAtMs(value: number) {
    this.#values[EARLIEST_CHANGE_AT_MS] = value;
  }

  /** True once the main thread's runtime is closing: workers record nothing more. */
  get closed(): boolean {
    return this.#values[CLOSED] === 1;
  }

  set closed(value: boolean) {
    this.#values[CLOSED] = value ? 1 : 0;
  }

  get queueDepth(): number {
    return this.#values[QUEUE_DEPTH]!;
  }

  publishUsage(stats: UsageStats, queueDepth: number): void {
    const values = this.#values;
    values[QUEUE_DEPTH] = queueDepth;
    statNames.forEach((name, index) => {
      values[STATS + index] = stats[name];
    });
  }

  usageStats(): UsageStats & { queueDepth: number } {
    const stats = { queueDepth: this.queueDepth } as UsageStats & { queueDepth: number };
    statNames.forEach((name, index) => {
      stats[name] = this.#values[STATS + index]!;
    });
    return stats;
  }
}
