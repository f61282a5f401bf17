import { readFileSync } from 'node:fs';
import { ReferenceEvaluator, createWasmEvaluator } from '@tollgate/evaluator';
import type { HandleEvaluator } from '@tollgate/evaluator';
import { naiveMapBaseline, nestedMapBaseline } from '../fixtures/baselines.js';
import type { Baseline } from '../fixtures/baselines.js';
import { FEATURE, NOW_MS, customerId, features } from '../fixtures/fixture.js';
import { formatCount, snapshotFile } from '../fixtures/files.js';
import { verifyChecks } from '../fixtures/verify.js';
import { childMain } from '../lib/child.js';
import { sink, timeLoops, timeSingleCalls } from '../lib/measure.js';
import type { LoopTask } from '../lib/measure.js';
import type { ResultRow } from '../lib/results.js';

/** Decisions per timed call: enough to bury the timer's tens of nanoseconds. */
const LOOP = 1024;
const HOT_SET = 1000;
/** The question mix of every check loop: a flag, a config limit, a meter, a credit cost. */
const MIX = [FEATURE.apiAccess, FEATURE.maxProjects, FEATURE.aiTokens, FEATURE.aiCredits];
const MIX_KEYS = MIX.map((feature) => features[feature]!.key);
const CALLS_KEY = features[FEATURE.apiCalls]!.key;

interface Subject {
  name: string;
  check(id: string, slot: number): number;
  consume(id: string): number;
  reserveSettle(id: string): number;
}

function evaluatorSubject(name: string, evaluator: HandleEvaluator): Subject {
  const mix = MIX_KEYS.map((key) => evaluator.featureIndex(key));
  const calls = evaluator.featureIndex(CALLS_KEY);
  return {
    name,
    check: (id, slot) => evaluator.check(id, mix[slot & 3]!, 1, NOW_MS).reason,
    consume: (id) => evaluator.consume(id, calls, 1, NOW_MS).reason,
    reserveSettle: (id) => {
      const reason = evaluator.hold(id, calls, 1, NOW_MS).reason;
      return reason + evaluator.settle(id, calls, 1, 1, NOW_MS);
    },
  };
}

function baselineSubject(baseline: Baseline): Subject {
  return {
    name: baseline.name,
    check: (id, slot) => baseline.check(id, MIX_KEYS[slot & 3]!, 1).reason,
    consume: (id) => baseline.consume(id, CALLS_KEY, 1).reason,
    reserveSettle: (id) => {
      const reason = baseline.hold(id, CALLS_KEY, 1).reason;
      baseline.settle(id, CALLS_KEY, 1, 1);
      return reason;
    },
  };
}

/** Customer numbers a loop visits: a hot set that repeats, or uniform over all. */
function pickCustomers(customerCount: number, hot: boolean): Int32Array {
  const picks = new Int32Array(LOOP * 64);
  let seed = 0x2545f491;
  for (let index = 0; index < picks.length; index++) {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    const spread = hot ? (seed % HOT_SET) * Math.floor(customerCount / HOT_SET) : seed;
    picks[index] = spread % customerCount;
  }
  return picks;
}

/**
 * Ids arrive in a request as fresh strings whose hash V8 has not cached yet, so every
 * loop gets newly built ids, made before the timer starts.
 */
function freshIds(picks: Int32Array) {
  const ids: string[] = new Array(LOOP).fill('');
  let round = 0;
  const refill = () => {
    const start = (round++ % 64) * LOOP;
    for (let index = 0; index < LOOP; index++) ids[index] = customerId(picks[start + index]!);
  };
  refill();
  return { ids, refill };
}

type Operation = 'check' | 'consume' | 'reserve';

function loopTasks(
  subjects: Subject[],
  label: string,
  picks: Int32Array,
  operations: readonly Operation[],
): LoopTask[] {
  const { ids, refill } = freshIds(picks);
  const loop = (name: string, decide: (subject: Subject, index: number) => number) =>
    subjects.map((subject) => ({
      name: `${name}|${subject.name}`,
      operations: LOOP,
      beforeEach: refill,
      run: () => {
        let total = 0;
        for (let index = 0; index < LOOP; index++) total += decide(subject, index);
        sink.value += total;
      },
    }));
  const byOperation = {
    check: () => loop(`check by id, ${label}`, (subject, i) => subject.check(ids[i]!, i)),
    consume: () => loop(`consume, ${label}`, (subject, i) => subject.consume(ids[i]!)),
    reserve: () =>
      loop(`reserve + settle, ${label}`, (subject, i) => subject.reserveSettle(ids[i]!)),
  };
  return operations.flatMap((operation) => byOperation[operation]());
}

function handleTasks(wasm: HandleEvaluator, reference: HandleEvaluator, picks: Int32Array) {
  const wasmBatch = wasm as unknown as {
    checkBatch(h: Int32Array, f: Int32Array, q: Float64Array, now: number, r: Uint8Array): void;
  };
  const handlesOf = (evaluator: HandleEvaluator) =>
    Int32Array.from(picks.subarray(0, LOOP), (pick) => evaluator.customerHandle(customerId(pick)));
  const wasmHandles = handlesOf(wasm);
  const referenceHandles = handlesOf(reference);
  const featureSlots = Int32Array.from({ length: LOOP }, (_, index) => MIX[index & 3]!);
  const quantities = new Float64Array(LOOP).fill(1);
  const reasons = new Uint8Array(LOOP);
  const byHandle = (evaluator: HandleEvaluator, handles: Int32Array) => () => {
    let total = 0;
    for (let index = 0; index < LOOP; index++) {
      total += evaluator.checkHandle(handles[index]!, featureSlots[index]!, 1, NOW_MS).reason;
    }
    sink.value += total;
  };
  return [
    { name: 'check by handle|Wasm evaluator', operations: LOOP, run: byHandle(wasm, wasmHandles) },
    {
      name: 'check by handle|TS reference',
      operations: LOOP,
      run: byHandle(reference, referenceHandles),
    },
    {
      name: 'batch check by handle|Wasm evaluator',
      operations: LOOP,
      run: () => {
        wasmBatch.checkBatch(wasmHandles, featureSlots, quantities, NOW_MS, reasons);
        sink.value += reasons[LOOP - 1]!;
      },
    },
    {
      name: 'batch check by handle|TS reference',
      operations: LOOP,
      run: byHandle(reference, referenceHandles),
    },
  ];
}

async function main(args: string[]): Promise<ResultRow[]> {
  const customerCount = Number(args[0]);
  const timeMs = Number(args[1]);
  const size = formatCount(customerCount);
  const bytes = readFileSync(snapshotFile(customerCount));
  const wasm = await createWasmEvaluator();
  wasm.load(bytes);
  const reference = new ReferenceEvaluator();
  reference.load(bytes);
  const baselines = [naiveMapBaseline(customerCount), nestedMapBaseline(customerCount)];

  // Answers first: every subject must agree with the fixture's rules before it is timed.
  verifyChecks('Wasm evaluator', customerCount, (id, f, q) => wasm.check(id, f, q, NOW_MS));
  verifyChecks('TS reference', customerCount, (id, f, q) => reference.check(id, f, q, NOW_MS));
  for (const baseline of baselines) {
    verifyChecks(baseline.name, customerCount, (id, f, q) =>
      baseline.check(id, features[f]!.key, q),
    );
  }

  const subjects = [
    evaluatorSubject('Wasm evaluator', wasm),
    evaluatorSubject('TS reference', reference),
    ...baselines.map(baselineSubject),
  ];
  const hot = pickCustomers(customerCount, true);
  const uniform = pickCustomers(customerCount, false);
  const tasks = [
    ...handleTasks(wasm, reference, hot),
    ...loopTasks(subjects, 'hot set', hot, ['check', 'consume', 'reserve']),
    ...loopTasks(subjects, 'uniform', uniform, ['check']),
  ];
  const timings = await timeLoops(tasks, timeMs);

  const rows: ResultRow[] = [];
  for (const [name, timing] of timings) {
    const [question, subject] = name.split('|') as [string, string];
    const row = { case: `${question}, ${size}`, subject, value: timing.nsMedian, unit: 'ns/op' };
    rows.push(row);
    if (question.includes('uniform'))
      rows.push({ ...row, case: `${row.case} (mean)`, value: timing.nsMean });
  }
  rows.push(...singleCallTails(subjects, hot, size));
  return rows;
}

/** One decision per timer reading, for the p99 a loop's median cannot show. */
function singleCallTails(subjects: Subject[], picks: Int32Array, size: string): ResultRow[] {
  return subjects.slice(0, 3).map((subject) => {
    // Built per subject so each one meets ids whose hash is not cached yet.
    const ids = Array.from(picks, (pick) => customerId(pick));
    const tail = timeSingleCalls(ids.length, (index) => {
      sink.value += subject.check(ids[index]!, index);
    });
    return {
      case: `check by id p99, hot set, ${size}`,
      subject: subject.name,
      value: tail.p99,
      unit: 'ns',
    };
  });
}

childMain(main);
