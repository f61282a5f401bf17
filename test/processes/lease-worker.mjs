// A worker thread with its own runtime that consumes one `chat.fast` in lease mode as fast
// as it can, until the control plane has nothing left to grant; then it closes (delivering
// its usage and returning its lease) and posts how many consumes were allowed.
import { parentPort, workerData } from 'node:worker_threads';
import { createTollgate } from '@tollgate/runtime';

const tollgate = await createTollgate({
  controlPlaneUrl: workerData.url,
  apiKey: 'tg_runtime_process',
  features: { 'chat.fast': { mode: 'lease' } },
  lease: { sliceSize: 20 },
  batch: { maxEvents: 100, maxDelayMs: 20 },
  stream: false,
  refreshIntervalMs: 0,
});
let allowed = 0;
// Bounded: no worker can be allowed more than the whole balance.
for (let call = 0; call < 5000; call++) {
  const decision = await tollgate.consumeAsync(workerData.customer, 'chat.fast', 1);
  if (!decision.allowed) break;
  allowed += 1;
}
await tollgate.close();
parentPort.postMessage({ allowed });
