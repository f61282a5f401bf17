// A runtime process that consumes one `chat.fast` in lease mode as fast as it can, until
// the control plane has nothing left to grant; then it closes (delivering its usage and
// returning its lease) and prints how many consumes were allowed.
import diagnosticsChannel from 'node:diagnostics_channel';
import { channelNames, createTollgate } from '@tollgate/runtime';

// Failures go to stderr, so a test that fails shows why.
diagnosticsChannel.subscribe(channelNames.leaseFailed, (message) => {
  process.stderr.write(`lease failed: ${message.error?.message ?? message.error}\n`);
});
diagnosticsChannel.subscribe(channelNames.leaseGranted, (message) => {
  if (process.env.TG_TRACE) process.stderr.write(`granted ${JSON.stringify(message)}\n`);
});

const tollgate = await createTollgate({
  controlPlaneUrl: process.env.TG_URL,
  apiKey: 'tg_runtime_process',
  features: { 'chat.fast': { mode: 'lease' } },
  lease: { sliceSize: 20 },
  batch: { maxEvents: 100, maxDelayMs: 20 },
  stream: false,
  refreshIntervalMs: 0,
});
let allowed = 0;
// Bounded: no process can be allowed more than the whole balance.
for (let call = 0; call < 5000; call++) {
  const decision = await tollgate.consumeAsync(process.env.TG_CUSTOMER, 'chat.fast', 1);
  if (!decision.allowed) break;
  allowed += 1;
}
await tollgate.close();
process.stdout.write(`${JSON.stringify({ allowed })}\n`);
