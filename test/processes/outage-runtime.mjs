// A runtime under a steady, bounded load while the test stops and restarts its control
// plane. The test names the phase with signals (SIGUSR1: the control plane is down,
// SIGUSR2: it is back); decisions are tallied per phase, feature and reason. Prints
// `ready` once the push stream is open, `stale` at the first stale denial while down,
// `fresh` at the first allowed `export_pdf` once back, and `summary <json>` on SIGTERM
// (after close() has delivered every queued usage event).
import diagnosticsChannel from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import { channelNames, createTollgate } from '@tollgate/runtime';

const env = process.env;
const customer = env.TG_CUSTOMER;
const print = (line) => process.stdout.write(`${line}\n`);

const maxAgeMs = 2000;
const tollgate = await createTollgate({
  controlPlaneUrl: env.TG_URL,
  apiKey: 'tg_runtime_process',
  stream: true,
  refreshIntervalMs: 0,
  batch: { maxEvents: 50, maxDelayMs: 100 },
  retry: { baseDelayMs: 100, delayMaxMs: 1000, attemptsMax: 4 },
  features: {
    // Served from the snapshot whatever its age.
    'chat.fast': { maxAgeMs, whenStale: 'allow' },
    // Denied once the snapshot is older than its maximum age.
    export_pdf: { maxAgeMs, whenStale: 'deny' },
    // Asks the control plane when stale, and allows from the snapshot when it is silent.
    'image.generate': { maxAgeMs, whenStale: { ask: { timeoutMs: 250, otherwise: 'allow' } } },
    // A customer the snapshot lacks is let through (and not billed).
    'chat.smart': { whenUnknownCustomer: 'allow' },
  },
});

let ready = false;
diagnosticsChannel.subscribe(channelNames.streamEvent, () => {
  if (!ready) print('ready');
  ready = true;
});

let phase = 'up';
process.on('SIGUSR1', () => {
  phase = 'down';
});
process.on('SIGUSR2', () => {
  phase = 'back';
});
let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
});

const tally = { up: {}, down: {}, back: {} };
const billed = { 'chat.fast': 0, 'image.generate': 0 };
let staleSeen = false;
let freshSeen = false;
let allowedAfterStale = 0;
function count(feature, decision) {
  const key = `${feature} ${decision.reasonName}`;
  tally[phase][key] = (tally[phase][key] ?? 0) + 1;
  if (decision.allowed && feature in billed) billed[feature] += 1;
}

// Bounded in count and in time; the test stops it well before either bound.
const iterationsMax = 20_000;
const deadlineMs = Date.now() + 150_000;
for (let iteration = 0; iteration < iterationsMax && !stopping; iteration++) {
  if (Date.now() > deadlineMs) break;
  const atPhase = phase;
  count('chat.fast', tollgate.consume(customer, 'chat.fast', 1));
  count('chat.smart', tollgate.consume('walk-in', 'chat.smart', 1));
  const export_ = tollgate.check(customer, 'export_pdf');
  count('export_pdf', export_);
  if (iteration % 10 === 0) {
    count('image.generate', await tollgate.consumeAsync(customer, 'image.generate', 1));
  }
  if (atPhase === 'down' && export_.reasonName === 'stale_snapshot' && !staleSeen) {
    staleSeen = true;
    print('stale');
  }
  if (atPhase === 'down' && staleSeen && export_.allowed) allowedAfterStale += 1;
  if (atPhase === 'back' && export_.allowed && !freshSeen) {
    freshSeen = true;
    print('fresh');
  }
  await sleep(10);
}

await tollgate.close();
const summary = { tally, billed, usage: tollgate.usageStats, allowedAfterStale };
print(`summary ${JSON.stringify(summary)}`);
process.exit(0);
