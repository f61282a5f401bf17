import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../examples/ai-assistant/src/harness.js';
import { startDemoServers, type DemoServers } from '../examples/ai-assistant/src/servers.js';

const directory = mkdtempSync(join(tmpdir(), 'tollgate-concurrency-'));
let servers: DemoServers;
let admin: HttpClient;

beforeAll(async () => {
  servers = await startDemoServers({ databasePath: join(directory, 'tollgate.sqlite') });
  admin = new HttpClient(servers.controlPlaneUrl, {
    authorization: `Bearer ${servers.adminKey}`,
  });
});

afterAll(async () => {
  await servers.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('credits under concurrent HTTP requests', () => {
  it('allows exactly 100 of 200 concurrent chat.fast requests on 100 credits', async () => {
    await admin.send('POST', '/v1/customers', { body: { id: 'burst' } });
    await admin.send('POST', '/v1/customers/burst/subscriptions', { body: { plan: 'free' } });
    await servers.tollgate.refresh();

    const app = new HttpClient(servers.appUrl, { 'tollgate-customer': 'burst' });
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => app.send('POST', '/chat/fast', { body: {} })),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(100);
    expect(statuses.filter((status) => status === 402)).toHaveLength(100);
    const denial = answers.find((answer) => answer.status === 402)!;
    expect(denial.body).toMatchObject({ reason: 'insufficient_credits', remaining: 0 });

    await servers.tollgate.flush();
    const balances = await admin.send('GET', '/v1/customers/burst/balances');
    expect(balances.body.balances).toEqual([
      expect.objectContaining({ currency: 'ai_credits', balance: 0 }),
    ]);
    const ledger = await admin.send('GET', '/v1/customers/burst/ledger?limit=1000');
    const debits = (ledger.body.entries as { kind: string; amount: number }[]).filter(
      (entry) => entry.kind === 'debit',
    );
    expect(debits.reduce((sum, entry) => sum - entry.amount, 0)).toBe(100);
  });
});
