// A worker thread attached to its parent's runtime (`attachTollgate`): it runs the
// parent's commands one message at a time and answers each with its result or error code.
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { attachTollgate } from '@tollgate/runtime';

// `exitInside` sets this: the next decision's clock read, inside the shared lock, ends
// the thread there, as a crash or a terminate() in the middle of a call would.
let exitInsideCall = false;
const clock = () => {
  if (exitInsideCall) process.exit(0);
  return Date.now();
};
const tollgate = await attachTollgate(workerData.share, { ...workerData.options, clock });
const reservations = new Map();

/**
 * Consumes `feature` one unit at a time until the first denial, yielding `pauseMs`
 * between calls when asked, so that snapshot swaps land in the middle of the run.
 * Bounded by `callsMax` calls.
 */
async function consumeUntilDenied({ customer, feature, pauseMs = 0, callsMax = 100_000 }) {
  let allowed = 0;
  let decision = null;
  for (let call = 0; call < callsMax; call++) {
    decision = tollgate.consume(customer, feature, 1);
    if (!decision.allowed) break;
    allowed += 1;
    if (pauseMs > 0) await sleep(pauseMs);
  }
  return { allowed, reasonName: decision?.reasonName, runtimeId: tollgate.runtimeId };
}

const commands = {
  consumeUntilDenied,
  check: ({ customer, feature, quantity, user }) =>
    tollgate.check(customer, feature, quantity, { user }),
  consume: ({ customer, feature, quantity }) => tollgate.consume(customer, feature, quantity),
  consumeAsync: ({ customer, feature, quantity }) =>
    tollgate.consumeAsync(customer, feature, quantity),
  reserve: ({ name, customer, feature, estimate }) => {
    const { decision, reservation } = tollgate.reserve(customer, feature, estimate);
    if (reservation !== null) reservations.set(name, reservation);
    return decision;
  },
  settle: ({ name, actual }) => tollgate.settle(reservations.get(name), actual),
  release: ({ name }) => tollgate.release(reservations.get(name)),
  stats: () => ({ ...tollgate.usageStats, snapshotVersion: tollgate.snapshotVersion }),
  share: () => tollgate.share(),
  runtimeId: () => tollgate.runtimeId,
  close: () => tollgate.close(),
  exitInside: ({ customer, feature }) => {
    exitInsideCall = true;
    return tollgate.consume(customer, feature, 1);
  },
};

parentPort.on('message', async ({ command, args }) => {
  try {
    parentPort.postMessage({ ok: true, value: await commands[command](args ?? {}) });
  } catch (error) {
    parentPort.postMessage({ ok: false, code: error.code, field: error.field });
  }
});
parentPort.postMessage({ ok: true, value: 'ready' });
