import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { createWasmEvaluator } from '@tollgate/evaluator';
import type { SharedEvaluatorHandle, WasmEvaluator } from '@tollgate/evaluator';
import { FEATURE, NOW_MS, customerId, expectedCheck, features } from '../fixtures/fixture.js';
import { snapshotFile } from '../fixtures/files.js';
import { sink, timeLoops } from '../lib/measure.js';
import type { LoopTask } from '../lib/measure.js';
import type { SuiteContext } from '../lib/options.js';
import { ratiosAgainst } from '../lib/results.js';
import type { ResultRow, SuiteResult } from '../lib/results.js';

const CUSTOMERS = 10_000;
const LOOP = 1024;
const PLAIN = 'plain Wasm evaluator';
const SHARED = 'shared Wasm evaluator, owner thread';
const ONE_WORKER = '1 worker, shared evaluator';

/** The cost of the lock and generation check on one thread, nobody contending. */
async function perCall(quick: boolean): Promise<ResultRow[]> {
  const bytes = readFileSync(snapshotFile(CUSTOMERS));
  const plain = await createWasmEvaluator();
  plain.load(bytes);
  const shared = await createWasmEvaluator({ shared: true });
  shared.load(bytes);
  const subjects: [string, WasmEvaluator][] = [
    [PLAIN, plain],
    [SHARED, shared],
  ];
  const sso = plain.featureIndex(features[FEATURE.sso]!.key);
  const calls = plain.featureIndex(features[FEATURE.apiCalls]!.key);
  for (const [name, evaluator] of subjects) {
    for (let customer = 0; customer < 1000; customer++) {
      const allowed = evaluator.check(customerId(customer), sso, 1, NOW_MS).allowed;
      if (allowed !== expectedCheck(customer, FEATURE.sso, 1).allowed) {
        throw new Error(`${name} answered ${allowed} for ${customerId(customer)}`);
      }
    }
  }
  const ids = Array.from({ length: LOOP }, (_, index) => customerId((index * 7919) % 1000));
  const tasks: LoopTask[] = subjects.flatMap(([name, evaluator]) => [
    {
      name: `check by id (per decision)|${name}`,
      operations: LOOP,
      run: () => {
        let total = 0;
        for (const id of ids) total += evaluator.check(id, sso, 1, NOW_MS).allowed ? 1 : 0;
        sink.value += total;
      },
    },
    {
      name: `consume by id (per decision)|${name}`,
      operations: LOOP,
      run: () => {
        let total = 0;
        for (const id of ids) total += evaluator.consume(id, calls, 1, NOW_MS).cost;
        sink.value += total;
      },
    },
  ]);
  const timings = await timeLoops(tasks, quick ? 300 : 1000);
  const rows: ResultRow[] = [...timings].map(([name, timing]) => {
    const [question, subject] = name.split('|') as [string, string];
    return { case: question, subject, value: timing.nsMedian, unit: 'ns' };
  });
  ratiosAgainst(rows, PLAIN);
  return rows;
}

/** Decisions per second of `count` workers consuming at once for `durationMs`. */
async function throughput(
  handle: SharedEvaluatorHandle | undefined,
  count: number,
  durationMs: number,
): Promise<number> {
  const script = new URL('./threads-worker.js', import.meta.url);
  const snapshotPath = snapshotFile(CUSTOMERS);
  const workers = Array.from(
    { length: count },
    () => new Worker(script, { workerData: { handle, snapshotPath, durationMs } }),
  );
  try {
    await Promise.all(workers.map((worker) => once(worker, 'message')));
    const done = workers.map((worker) => once(worker, 'message'));
    for (const worker of workers) worker.postMessage('go');
    const counts = await Promise.all(done);
    const decisions = counts.reduce((sum, [reply]) => sum + reply.decisions, 0);
    return decisions / (durationMs / 1000);
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

export async function runThreads(context: SuiteContext): Promise<SuiteResult> {
  const started = Date.now();
  const rows = await perCall(context.quick);
  const owner = await createWasmEvaluator({ shared: true });
  owner.load(readFileSync(snapshotFile(CUSTOMERS)));
  const durationMs = context.quick ? 1000 : 3000;
  const question = 'consume by id from worker threads (decisions per second, all threads)';
  const configurations: [string, SharedEvaluatorHandle | undefined, number][] = [
    [ONE_WORKER, owner.share(), 1],
    ['2 workers, one shared evaluator (one lock)', owner.share(), 2],
    ['2 workers, a plain evaluator each (no sharing)', undefined, 2],
  ];
  for (const [subject, handle, count] of configurations) {
    const value = await throughput(handle, count, durationMs);
    rows.push({ case: question, subject, value, unit: 'decisions/s' });
  }
  ratiosAgainst(rows, ONE_WORKER);
  return {
    suite: 'threads',
    title: 'Worker threads',
    budgetMs: context.budgetMs,
    elapsedMs: Date.now() - started,
    inputs:
      `a ${CUSTOMERS / 1000}k-customer snapshot; ids from a hot set of 1,000; per-call rows ` +
      `in loops of ${LOOP} on the main thread; throughput rows with workers consuming for ` +
      `${durationMs / 1000} s each, every worker checking its answers for 1,000 customers ` +
      'first',
    rows,
    targets: [],
    notes: [
      'Per-call ratios are the shared evaluator over the plain one in the same run: the ' +
        'price of the lock (two atomic operations) and the generation check, uncontended.',
      'Throughput ratios are over one worker on the shared evaluator. Two workers each ' +
        'with a plain evaluator share nothing: their limits are exact per thread only, ' +
        'which is what the shared evaluator fixes; the gap is the cost of one lock.',
      'The machine has 2 cores; the main thread idles while the workers run.',
    ],
  };
}
