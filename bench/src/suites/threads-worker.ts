// A worker thread of the threads suite: it decides on the shared evaluator it is handed
// (or on a plain one of its own, for the unshared baseline), checks its answers first,
// then consumes for the given time and posts how many decisions it made.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { attachWasmEvaluator, createWasmEvaluator } from '@tollgate/evaluator';
import type { SharedEvaluatorHandle, WasmEvaluator } from '@tollgate/evaluator';
import { FEATURE, NOW_MS, customerId, expectedCheck, features } from '../fixtures/fixture.js';

interface Job {
  handle?: SharedEvaluatorHandle;
  snapshotPath: string;
  durationMs: number;
}

const job = workerData as Job;
let evaluator: WasmEvaluator;
if (job.handle === undefined) {
  evaluator = await createWasmEvaluator();
  evaluator.load(readFileSync(job.snapshotPath));
} else {
  evaluator = await attachWasmEvaluator(job.handle);
}
const sso = evaluator.featureIndex(features[FEATURE.sso]!.key);
const calls = evaluator.featureIndex(features[FEATURE.apiCalls]!.key);
for (let customer = 0; customer < 1000; customer++) {
  const allowed = evaluator.check(customerId(customer), sso, 1, NOW_MS).allowed;
  if (allowed !== expectedCheck(customer, FEATURE.sso, 1).allowed) {
    throw new Error(`answered ${allowed} for ${customerId(customer)}`);
  }
}
const ids = Array.from({ length: 1000 }, (_, customer) => customerId(customer));
parentPort!.once('message', () => {
  let decisions = 0;
  const endAt = performance.now() + job.durationMs;
  // Bounded by time: the clock is read once per 1,000 decisions.
  while (performance.now() < endAt) {
    for (const id of ids) evaluator.consume(id, calls, 1, NOW_MS);
    decisions += ids.length;
  }
  parentPort!.postMessage({ decisions });
});
parentPort!.postMessage('ready');
