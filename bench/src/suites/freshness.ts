import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { parseCatalog } from '@tollgate/catalog';
import { createTollgate } from '@tollgate/runtime';
import type { Tollgate } from '@tollgate/runtime';
import { median } from '../lib/measure.js';
import type { SuiteContext } from '../lib/options.js';
import type { ResultRow, SuiteResult } from '../lib/results.js';
import { ADMIN_KEY, RUNTIME_KEY, expectOk, startPlane } from '../servers/control-plane.js';
import type { BenchPlane } from '../servers/control-plane.js';

/** `report` has export; `basic` has not: each plan change flips the decision. */
const catalog = parseCatalog(`schema_version: 1
features:
  report: { kind: boolean }
plans:
  basic:
    versions:
      - { version: 1, published_at: 2026-01-01T00:00:00Z, entitlements: {} }
  plus:
    versions:
      - { version: 1, published_at: 2026-01-01T00:00:00Z, entitlements: { report: true } }
`);

const CUSTOMER = 'fresh_1';
/** The polling baseline's interval: what a runtime without the push stream waits at most. */
const POLL_INTERVAL_MS = 1000;
/** A change that has not arrived after this long counts as lost, and fails the suite. */
const ARRIVAL_MAX_MS = 10_000;

/**
 * Changes the customer's plan through the admin API and decides on every turn of the
 * event loop until the runtime answers the new way: the delay from the admin call to the
 * first decision that reflects it.
 */
async function timeOneChange(plane: BenchPlane, runtime: Tollgate, plan: string) {
  const expected = plan === 'plus';
  const start = performance.now();
  const change = expectOk(
    plane,
    'POST',
    `/v1/customers/${CUSTOMER}/subscription/change`,
    ADMIN_KEY,
    {
      plan,
    },
  );
  while (runtime.check(CUSTOMER, 'report').allowed !== expected) {
    if (performance.now() - start > ARRIVAL_MAX_MS) {
      throw new Error(`the change to ${plan} did not reach the runtime in ${ARRIVAL_MAX_MS} ms`);
    }
    await nextTurn();
  }
  const delayMs = performance.now() - start;
  await change;
  return delayMs;
}

async function timeChanges(plane: BenchPlane, runtime: Tollgate, changes: number) {
  const delays: number[] = [];
  for (let index = 0; index < changes; index++) {
    // Changes land at spread-out points of the polling cycle, the same for both runtimes.
    await sleep(((index * 0.37) % 1) * POLL_INTERVAL_MS);
    delays.push(await timeOneChange(plane, runtime, index % 2 === 0 ? 'plus' : 'basic'));
  }
  return delays;
}

export async function runFreshness(context: SuiteContext): Promise<SuiteResult> {
  const started = Date.now();
  const changes = context.quick ? 4 : 10;
  const plane = await startPlane('sqlite', catalog);
  const runtimes: Tollgate[] = [];
  try {
    await expectOk(plane, 'POST', '/v1/customers', ADMIN_KEY, { id: CUSTOMER });
    await expectOk(plane, 'POST', `/v1/customers/${CUSTOMER}/subscriptions`, ADMIN_KEY, {
      plan: 'basic',
    });
    const base = { controlPlaneUrl: plane.url, apiKey: RUNTIME_KEY, clock: plane.clock.now };
    const pushed = await createTollgate({ ...base, stream: true, refreshIntervalMs: 0 });
    runtimes.push(pushed);
    const polled = await createTollgate({
      ...base,
      stream: false,
      refreshIntervalMs: POLL_INTERVAL_MS,
    });
    runtimes.push(polled);
    // Both start denied: the answer is checked before anything is timed.
    for (const runtime of runtimes) {
      if (runtime.check(CUSTOMER, 'report').reasonName !== 'no_access') {
        throw new Error('the runtime did not start from the basic plan');
      }
    }
    const pushDelays = await timeChanges(plane, pushed, changes);
    const pollDelays = await timeChanges(plane, polled, changes);
    const pushMedian = median(pushDelays);
    const pollMedian = median(pollDelays);
    const caseName = 'plan change: admin call → first decision reflecting it';
    const rows: ResultRow[] = [
      { case: caseName, subject: 'push stream (median)', value: pushMedian, unit: 'ms' },
      { case: caseName, subject: 'push stream (max)', value: Math.max(...pushDelays), unit: 'ms' },
      {
        case: caseName,
        subject: `polling every ${POLL_INTERVAL_MS} ms (median)`,
        value: pollMedian,
        unit: 'ms',
        ratio: pollMedian / pushMedian,
        versus: 'push stream (median)',
      },
      {
        case: caseName,
        subject: `polling every ${POLL_INTERVAL_MS} ms (max)`,
        value: Math.max(...pollDelays),
        unit: 'ms',
      },
    ];
    return {
      suite: 'freshness',
      title: 'Freshness of pushed changes',
      budgetMs: context.budgetMs,
      elapsedMs: Date.now() - started,
      inputs:
        `one customer switched between two plans ${changes} times per runtime through ` +
        'POST /v1/customers/:id/subscription/change; the control plane (SQLite) and both ' +
        'runtimes in this process on 127.0.0.1; the runtime decides on every turn of the ' +
        'event loop until the answer flips',
      rows,
      targets: [],
      notes: [
        'The push runtime holds the SSE stream and has background polling off; the baseline ' +
          `has no stream and polls every ${POLL_INTERVAL_MS} ms; the ratio is how many times ` +
          'longer the polling runtime waits. Changes are spread over the polling cycle.',
        'The delay includes the admin call itself, the snapshot build and the fetch of the ' +
          'changed snapshot (a delta when the control plane can serve one).',
      ],
    };
  } finally {
    for (const runtime of runtimes) await runtime.close();
    await plane.close();
  }
}
