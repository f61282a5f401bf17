// A runtime that holds the control plane's push stream and checks one feature for one
// customer in a loop. It prints `ready <json>` once the stream has delivered its first
// event, `allowed <json>` the first time the feature is allowed, `version <n>` whenever a
// snapshot is loaded, and `summary <json>` when it receives SIGTERM (or at its deadline).
import diagnosticsChannel from 'node:diagnostics_channel';
import { channelNames, createTollgate } from '@tollgate/runtime';

const env = process.env;
const customer = env.TG_CUSTOMER;
const feature = env.TG_FEATURE;
// The user acting for the customer: sso requires a seat, and a check without one fails.
const options = { user: env.TG_USER };
const print = (line) => process.stdout.write(`${line}\n`);

const tollgate = await createTollgate({
  controlPlaneUrl: env.TG_URL,
  apiKey: 'tg_runtime_process',
  stream: true,
  // Only the push may bring a newer snapshot: no polling.
  refreshIntervalMs: 0,
});

let ready = false;
diagnosticsChannel.subscribe(channelNames.streamEvent, () => {
  if (ready) return;
  ready = true;
  const decision = tollgate.check(customer, feature, 1, options);
  print(
    `ready ${JSON.stringify({ version: tollgate.snapshotVersion, reason: decision.reasonName })}`,
  );
});
diagnosticsChannel.subscribe(channelNames.snapshotLoaded, (message) => {
  print(`version ${message.version}`);
});
diagnosticsChannel.subscribe(channelNames.streamFailed, (message) => {
  process.stderr.write(`stream failed: ${message.error?.message ?? message.error}\n`);
});

const summary = {
  checks: 0,
  allowedChecks: 0,
  deniedAfterAllowed: 0,
  firstAllowedVersion: null,
  lastVersion: 0,
};
// Bounded in count and in time; the test stops it long before either bound.
const checksMax = 2_000_000;
const deadlineMs = Date.now() + 120_000;
const timer = setInterval(() => {
  const decision = tollgate.check(customer, feature, 1, options);
  summary.checks += 1;
  summary.lastVersion = decision.snapshotVersion;
  if (decision.allowed) {
    summary.allowedChecks += 1;
    if (summary.firstAllowedVersion === null) {
      summary.firstAllowedVersion = decision.snapshotVersion;
      print(`allowed ${JSON.stringify({ version: decision.snapshotVersion })}`);
    }
  } else if (summary.firstAllowedVersion !== null) {
    summary.deniedAfterAllowed += 1;
  }
  if (summary.checks >= checksMax || Date.now() > deadlineMs) finish();
}, 1);

let finishing = false;
async function finish() {
  if (finishing) return;
  finishing = true;
  clearInterval(timer);
  await tollgate.close();
  print(`summary ${JSON.stringify(summary)}`);
  process.exit(0);
}
process.on('SIGTERM', finish);
