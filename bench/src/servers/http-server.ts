import { createTollgate } from '@tollgate/runtime';
import type { Tollgate } from '@tollgate/runtime';
import { NOW_MS } from '../fixtures/fixture.js';
import { startApp } from './apps.js';
import type { Framework } from './apps.js';
import { startStandIn } from './stand-in.js';
import type { StandIn } from './stand-in.js';

/**
 * One framework's hello-world server in its own process, so its CPU time is measured
 * apart from the load generator's. The parent drives it over IPC:
 * `mark` starts a CPU window, `read` ends it and answers the microseconds used, `stop`
 * closes everything. The guarded variant loads the fixture snapshot from a stand-in.
 */
export type ServerReply =
  | { type: 'ready'; port: number }
  | { type: 'unavailable' }
  | { type: 'marked' }
  | { type: 'cpu'; userUs: number; systemUs: number };

const [framework, variant, snapshotPath] = process.argv.slice(2) as [Framework, string, string];
const send = (message: ServerReply) => process.send?.(message);

let standIn: StandIn | null = null;
let tollgate: Tollgate | null = null;
if (variant === 'guarded') {
  standIn = await startStandIn(snapshotPath);
  tollgate = await createTollgate({
    controlPlaneUrl: standIn.url,
    apiKey: 'bench',
    evaluator: 'wasm',
    clock: () => NOW_MS,
    refreshIntervalMs: 0,
  });
}
const app = await startApp(framework, tollgate);
let mark = process.cpuUsage();

process.on('message', async (message: { type: string }) => {
  if (message.type === 'mark') {
    mark = process.cpuUsage();
    send({ type: 'marked' });
  } else if (message.type === 'read') {
    const used = process.cpuUsage(mark);
    send({ type: 'cpu', userUs: used.user, systemUs: used.system });
  } else if (message.type === 'stop') {
    await app?.close();
    await tollgate?.close();
    await standIn?.close();
    process.exit(0);
  }
});
send(app === null ? { type: 'unavailable' } : { type: 'ready', port: app.port });
