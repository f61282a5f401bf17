import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { admin, startChild, startControlPlane } from './processes/spawn.js';
import type { Child } from './processes/spawn.js';

const directory = mkdtempSync(join(tmpdir(), 'tollgate-outage-'));
const children: Child[] = [];
const outageMs = 30_000;

afterAll(async () => {
  for (const child of children) await child.kill();
  rmSync(directory, { recursive: true, force: true });
});

interface LedgerEntry {
  kind: string;
  amount: number;
  debit_id: number | null;
}

/** Every ledger entry of a customer, page by page. */
async function ledger(url: string, customer: string): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  let after = 0;
  // Bounded: 100 pages of 1,000 hold far more than this test writes.
  for (let page = 0; page < 100; page++) {
    const path = `/v1/customers/${customer}/ledger?limit=1000&after=${after}`;
    const answer = await admin(url, 'GET', path);
    entries.push(...answer.entries);
    if (answer.next_after === null) return entries;
    after = answer.next_after;
  }
  throw new Error('the ledger has more pages than this test can have written');
}

describe('a control plane stopped during a load run', () => {
  it('keeps deciding under each feature policy and receives every usage event once', async () => {
    // Heartbeats every 500 ms keep the 2 s maximum age confirmed while the plane is up.
    const env = { TG_DATABASE: join(directory, 'tollgate.sqlite'), TG_HEARTBEAT_MS: '500' };
    const plane = await startControlPlane(env);
    children.push(plane);
    const port = new URL(plane.url).port;
    await admin(plane.url, 'POST', '/v1/customers', { id: 'steady' });
    await admin(plane.url, 'POST', '/v1/customers/steady/subscriptions', { plan: 'pro' });
    // The plan's credits and 20,000 more: the run never runs short.
    await admin(plane.url, 'POST', '/v1/customers/steady/grants', {
      currency: 'ai_credits',
      amount: 20_000,
      category: 'paid',
      idempotency_key: 'outage-grant',
    });
    const before = await ledger(plane.url, 'steady');
    const start = await admin(plane.url, 'GET', '/v1/customers/steady/balances');

    const runtime = startChild('./outage-runtime.mjs', {
      TG_URL: plane.url,
      TG_CUSTOMER: 'steady',
    });
    children.push(runtime);
    await runtime.line('ready');

    await plane.kill();
    process.kill(runtime.process.pid!, 'SIGUSR1');
    await runtime.line('stale');
    // The outage lasts 30 s whatever the runtime does; nothing is timed or asserted on it.
    await sleep(outageMs);

    const restarted = await startControlPlane({ ...env, TG_PORT: port });
    children.push(restarted);
    process.kill(runtime.process.pid!, 'SIGUSR2');
    await runtime.line('fresh');
    const summaryLine = runtime.line('summary ');
    await runtime.stop();
    const summary = JSON.parse((await summaryLine).slice('summary '.length));

    // While down: chat.fast and image.generate from the snapshot, the walk-in let through,
    // export_pdf allowed until the snapshot passed its maximum age and denied from then on.
    const down = summary.tally.down as Record<string, number>;
    const musts = [
      'chat.fast allowed',
      'chat.smart allowed',
      'export_pdf stale_snapshot',
      'image.generate allowed',
    ];
    expect(Object.keys(down)).toEqual(expect.arrayContaining(musts));
    const mays = [...musts, 'export_pdf allowed'];
    expect(Object.keys(down).filter((key) => !mays.includes(key))).toEqual([]);
    expect(summary.allowedAfterStale).toBe(0);
    expect(summary.tally.back['export_pdf allowed']).toBeGreaterThan(0);

    // Every allowed, billable use reached the control plane once: one debit each, exact sums.
    const uses = summary.billed['chat.fast'] + summary.billed['image.generate'];
    // Some uses were asked of the control plane (strict) and ingested there, not queued;
    // every queued one was delivered, and the ledger holds each use once.
    const { usage } = summary;
    expect(usage).toMatchObject({ eventsDropped: 0, eventsRejected: 0 });
    expect(usage.eventsAccepted + usage.eventsDuplicate).toBe(usage.eventsQueued);
    const debits = (await ledger(restarted.url, 'steady'))
      .slice(before.length)
      .filter((entry) => entry.kind === 'debit');
    const spent = summary.billed['chat.fast'] * 1 + summary.billed['image.generate'] * 20;
    expect(debits.reduce((sum, entry) => sum + entry.amount, 0)).toBe(-spent);
    expect(new Set(debits.map((entry) => entry.debit_id)).size).toBe(uses);
    const balances = await admin(restarted.url, 'GET', '/v1/customers/steady/balances');
    expect(balances.balances[0].balance).toBe(start.balances[0].balance - spent);
  }, 120_000);
});
