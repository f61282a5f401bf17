import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { admin, startControlPlane } from './processes/spawn.js';
import type { Child } from './processes/spawn.js';

const directory = mkdtempSync(join(tmpdir(), 'tollgate-workers-'));
const children: Child[] = [];
const workers: Worker[] = [];

afterAll(async () => {
  for (const worker of workers) await worker.terminate();
  for (const child of children) await child.kill();
  rmSync(directory, { recursive: true, force: true });
});

// Each worker here holds a runtime of its own, as separate processes would (threads that
// share one runtime are tested in runtime-threads.e2e.test.ts): leases keep it exact.
describe('leases across worker threads', () => {
  it('allows exactly 1,000 of 1,000 credits to 4 workers of one process', async () => {
    const plane = await startControlPlane({ TG_DATABASE: join(directory, 'tollgate.sqlite') });
    children.push(plane);
    await admin(plane.url, 'POST', '/v1/customers', { id: 'threaded' });
    await admin(plane.url, 'POST', '/v1/customers/threaded/subscriptions', { plan: 'free' });
    await admin(plane.url, 'POST', '/v1/customers/threaded/grants', {
      currency: 'ai_credits',
      amount: 900,
      category: 'paid',
      idempotency_key: 'grant-900',
    });

    const script = new URL('./processes/lease-worker.mjs', import.meta.url);
    for (let index = 0; index < 4; index++) {
      workers.push(new Worker(script, { workerData: { url: plane.url, customer: 'threaded' } }));
    }
    const results = await Promise.all(workers.map((worker) => once(worker, 'message')));
    const allowed = results.map(([message]) => (message as { allowed: number }).allowed);

    expect(allowed.reduce((sum, count) => sum + count, 0)).toBe(1000);
    const balances = await admin(plane.url, 'GET', '/v1/customers/threaded/balances');
    expect(balances.balances).toEqual([
      expect.objectContaining({ currency: 'ai_credits', balance: 0 }),
    ]);
  });
});
