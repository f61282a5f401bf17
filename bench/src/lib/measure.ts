import { Bench } from 'tinybench';

/**
 * One timed task: `run` makes `operations` decisions (or events, or requests) per call,
 * so the timer's own cost is spread over many of them.
 */
export interface LoopTask {
  name: string;
  operations: number;
  run: () => void;
  /** Untimed preparation before each call, e.g. fresh strings for the next loop. */
  beforeEach?: () => void;
}

export interface LoopTiming {
  /** Nanoseconds per operation: the median call, divided by `operations`. */
  nsMedian: number;
  nsMean: number;
  /** Nanoseconds per operation of the 99th-percentile call (a loop, not one operation). */
  nsP99Loop: number;
  samples: number;
}

/** Keeps results alive so the optimiser cannot drop the work that produced them. */
export const sink = { value: 0 };

/** Runs the tasks one after another with tinybench; each gets `timeMs` after warm-up. */
export async function timeLoops(
  tasks: readonly LoopTask[],
  timeMs: number,
): Promise<Map<string, LoopTiming>> {
  const bench = new Bench({ time: timeMs, warmupTime: Math.min(200, timeMs / 2), iterations: 5 });
  for (const task of tasks) {
    const options = task.beforeEach === undefined ? {} : { beforeEach: task.beforeEach };
    bench.add(task.name, task.run, options);
  }
  await bench.run();
  const timings = new Map<string, LoopTiming>();
  for (const [index, task] of bench.tasks.entries()) {
    const result = task.result;
    if (result.state !== 'completed') {
      const error = 'error' in result ? result.error : undefined;
      throw new Error(`task ${task.name} ${result.state}`, { cause: error });
    }
    const operations = tasks[index]!.operations;
    timings.set(task.name, {
      nsMedian: (result.latency.p50 * 1e6) / operations,
      nsMean: (result.latency.mean * 1e6) / operations,
      nsP99Loop: (result.latency.p99 * 1e6) / operations,
      samples: result.latency.samplesCount,
    });
  }
  return timings;
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

/**
 * Times `count` single calls one by one with the monotonic clock, minus the clock's own
 * median cost, for tails (p99) that a loop's mean hides. Values in nanoseconds.
 */
export function timeSingleCalls(count: number, call: (index: number) => void): Percentiles {
  const overhead = clockOverheadNs();
  const samples = new Float64Array(count);
  for (let index = 0; index < count; index++) {
    const start = process.hrtime.bigint();
    call(index);
    samples[index] = Number(process.hrtime.bigint() - start) - overhead;
  }
  return percentiles(samples);
}

function clockOverheadNs(): number {
  const samples = new Float64Array(10_000);
  for (let index = 0; index < samples.length; index++) {
    const start = process.hrtime.bigint();
    samples[index] = Number(process.hrtime.bigint() - start);
  }
  return percentiles(samples).p50;
}

export function percentiles(values: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const at = (fraction: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Wall time of `work` in milliseconds. */
export async function elapsedMs(work: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}
