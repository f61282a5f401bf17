// A worker thread of the shared-evaluator tests: it attaches to the evaluator its parent
// shares and answers the parent's commands, one message each.
import { parentPort, workerData } from 'node:worker_threads';
import { attachWasmEvaluator } from '@tollgate/evaluator';

const evaluator = await attachWasmEvaluator(workerData.handle);

/** Consumes `quantity` until the first denial; the allowed count and the last decision. */
function consumeUntilDenied({ customer, feature, quantity, nowMs }) {
  let allowed = 0;
  for (;;) {
    const decision = evaluator.exclusive(() =>
      evaluator.consume(customer, evaluator.featureIndex(feature), quantity, nowMs),
    );
    if (!decision.allowed) return { allowed, decision };
    allowed += 1;
  }
}

const commands = {
  consumeUntilDenied,
  check: ({ customer, feature, quantity, nowMs }) =>
    evaluator.exclusive(() =>
      evaluator.check(customer, evaluator.featureIndex(feature), quantity, nowMs),
    ),
  hold: ({ customer, feature, quantity, nowMs }) =>
    evaluator.exclusive(() =>
      evaluator.hold(customer, evaluator.featureIndex(feature), quantity, nowMs),
    ),
  snapshot: () => ({
    version: evaluator.snapshotVersion,
    watermark: evaluator.usageWatermark,
    seat: evaluator.holdsSeat('cus_t', 'usr_new'),
    nextChangeAtMs: evaluator.nextChangeAtMs('cus_t'),
  }),
  load: () => evaluator.load(new Uint8Array(96)),
  slot: () => evaluator.slot,
  // Takes the lock and never gives it back, as a thread stopped inside a call would.
  hang: () =>
    evaluator.exclusive(() => {
      parentPort.postMessage({ ok: true, value: 'holding' });
      for (;;);
    }),
  detach: () => evaluator.detach(),
  // Ends the thread while it holds the lock, as a crash inside a call would.
  exitInside: () => evaluator.exclusive(() => process.exit(0)),
};

parentPort.on('message', ({ command, args }) => {
  try {
    parentPort.postMessage({ ok: true, value: commands[command](args) });
  } catch (error) {
    parentPort.postMessage({ ok: false, code: error.code, message: error.message });
  }
});
parentPort.postMessage({ ok: true, value: 'ready' });
