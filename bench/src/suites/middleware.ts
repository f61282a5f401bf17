import autocannon from 'autocannon';
import { snapshotFile } from '../fixtures/files.js';
import { frameworks } from '../servers/apps.js';
import type { Framework } from '../servers/apps.js';
import { median } from '../lib/measure.js';
import type { SuiteContext } from '../lib/options.js';
import { target } from '../lib/results.js';
import type { ResultRow, SuiteResult, TargetCheck } from '../lib/results.js';
import { timeMiddlewareAlone } from './middleware-alone.js';
import { ServerProcess, verifyServer } from './server-process.js';

const CUSTOMER_COUNT = 10_000;
const CONNECTIONS = 16;

interface Run {
  rps: number;
  p99Ms: number;
  cpuUsPerRequest: number;
}

/** One timed load on one server: requests per second, p99, and the server's CPU per request. */
async function measure(server: ServerProcess, seconds: number): Promise<Run> {
  await server.mark();
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}/hello`,
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'tollgate-customer': 'cus_0000042' },
  });
  const cpu = await server.readCpu();
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(`${server.name}: ${result.errors} errors, ${result.non2xx} non-2xx answers`);
  }
  const requests = result.requests.total;
  return {
    rps: requests / result.duration,
    p99Ms: result.latency.p99,
    cpuUsPerRequest: (cpu.userUs + cpu.systemUs) / requests,
  };
}

/**
 * Bare and guarded servers of one framework, loaded alternately (ABBA order, so drift
 * hits both alike) for `pairs` pairs; ratios are medians of the per-pair ratios.
 */
async function compareFramework(framework: Framework, pairs: number, seconds: number) {
  const snapshot = snapshotFile(CUSTOMER_COUNT);
  const bare = await ServerProcess.start(framework, 'bare', snapshot);
  const guarded = await ServerProcess.start(framework, 'guarded', snapshot);
  try {
    await verifyServer(bare!, false);
    if (guarded !== null) await verifyServer(guarded, true);
    const servers = guarded === null ? [bare!] : [bare!, guarded];
    for (const server of servers) await measure(server, 1); // Warm-up, not recorded.
    const runs: { bare: Run[]; guarded: Run[] } = { bare: [], guarded: [] };
    for (let pair = 0; pair < pairs; pair++) {
      const order = pair % 2 === 0 ? servers : [...servers].reverse();
      for (const server of order) {
        runs[server === bare ? 'bare' : 'guarded'].push(await measure(server, seconds));
      }
    }
    return runs;
  } finally {
    await bare?.stop();
    await guarded?.stop();
  }
}

function rowsOf(framework: Framework, runs: { bare: Run[]; guarded: Run[] }): ResultRow[] {
  const name = { express: 'Express 5', koa: 'Koa 3', nestjs: 'NestJS 12' }[framework];
  const metrics = [
    ['requests per second', 'req/s', (run: Run) => run.rps],
    ['server CPU per request', 'µs', (run: Run) => run.cpuUsPerRequest],
    ['p99 latency', 'ms', (run: Run) => run.p99Ms],
  ] as const;
  const rows: ResultRow[] = [];
  for (const [metric, unit, pick] of metrics) {
    const caseName = `${name} hello world: ${metric}`;
    rows.push({ case: caseName, subject: 'bare', value: median(runs.bare.map(pick)), unit });
    if (runs.guarded.length === 0) continue;
    const ratios = runs.guarded.map((run, index) => pick(run) / pick(runs.bare[index]!));
    rows.push({
      case: caseName,
      subject: 'guarded (Tollgate)',
      value: median(runs.guarded.map(pick)),
      unit,
      ratio: median(ratios),
      versus: 'bare, median of per-pair ratios',
    });
  }
  return rows;
}

export async function runMiddleware(context: SuiteContext): Promise<SuiteResult> {
  const started = Date.now();
  const pairs = 5;
  const seconds = context.quick ? 1 : 2;
  const rows: ResultRow[] = [];
  const notes: string[] = [];
  const alone = await timeMiddlewareAlone(context.quick ? 150 : 400);
  rows.push(...alone.rows);
  let expressCpuUs = NaN;
  for (const framework of frameworks) {
    const runs = await compareFramework(framework, pairs, seconds);
    rows.push(...rowsOf(framework, runs));
    if (framework === 'express') expressCpuUs = median(runs.bare.map((run) => run.cpuUsPerRequest));
    if (runs.guarded.length === 0) {
      notes.push(
        `${framework}: bare runs only; @tollgate/${framework} exports no guard yet (issue 6).`,
      );
    }
  }
  const share = (alone.netNs / 1000 / expressCpuUs) * 100;
  const targets: TargetCheck[] = [
    target('the middleware alone, CPU per request', alone.netNs, 1000, 'ns', 'at most'),
    target('the middleware alone vs bare Express CPU per request', share, 1, '%', 'at most'),
  ];
  return {
    suite: 'middleware',
    title: 'Middleware overhead',
    budgetMs: context.budgetMs,
    elapsedMs: Date.now() - started,
    inputs:
      `GET /hello answering "hello"; guarded = Tollgate's requireFeature('api_access') on a ` +
      `boolean feature every customer has (allowed, local decision, settle at the end); ` +
      `${CUSTOMER_COUNT / 1000}k-customer snapshot; autocannon, ${CONNECTIONS} connections, ` +
      `${seconds} s per run, ${pairs} bare/guarded pairs in ABBA order after a 1 s warm-up; ` +
      'each server in its own process, CPU time from process.cpuUsage() there',
    rows,
    targets,
    notes: [
      'Requests per second swing ±20 % run to run on this machine; CPU time per request ' +
        'is the figure to trust. The load generator shares the two cores with the server.',
      ...notes,
    ],
  };
}
