import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTollgate } from '@tollgate/runtime';
import type { Tollgate, TollgateOptions } from '@tollgate/runtime';
import { admin, startControlPlane } from './processes/spawn.js';
import type { Child } from './processes/spawn.js';

// Two control-plane processes on one SQLite file, as behind a load balancer. Every
// customer starts on the free plan (100 ai_credits, max_projects 3).
const directory = mkdtempSync(join(tmpdir(), 'tollgate-delta-'));
const runtimeAuth = { authorization: 'Bearer tg_runtime_process' };
let first: Child & { url: string };
let second: Child & { url: string };
const runtimes: Tollgate[] = [];
let proxy: Server;
let target = '';
const answered: string[] = [];

beforeAll(async () => {
  const env = { TG_DATABASE: join(directory, 'tollgate.sqlite') };
  first = await startControlPlane(env);
  second = await startControlPlane(env);
  // Forwards every request to `target`, noting each snapshot answer's path and status.
  proxy = createServer((incoming, outgoing) => {
    const forwarded = request(target + incoming.url, {
      method: incoming.method,
      headers: incoming.headers,
    });
    forwarded.on('response', (answer) => {
      if (incoming.url!.startsWith('/v1/snapshot'))
        answered.push(`${incoming.url} ${answer.statusCode}`);
      outgoing.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(outgoing);
    });
    incoming.pipe(forwarded);
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
});

afterAll(async () => {
  for (const tollgate of runtimes) await tollgate.close().catch(() => undefined);
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
  await first.kill();
  await second.kill();
  rmSync(directory, { recursive: true, force: true });
});

async function customerOnFree(id: string): Promise<void> {
  await admin(first.url, 'POST', '/v1/customers', { id });
  await admin(first.url, 'POST', `/v1/customers/${id}/subscriptions`, { plan: 'free' });
}

async function runtime(url: string, options: Partial<TollgateOptions> = {}) {
  const tollgate = await createTollgate({
    controlPlaneUrl: url,
    apiKey: 'tg_runtime_process',
    stream: false,
    refreshIntervalMs: 0,
    ...options,
  });
  runtimes.push(tollgate);
  return tollgate;
}

async function versionAt(url: string): Promise<number> {
  const answer = await fetch(`${url}/v1/snapshot`, { headers: runtimeAuth });
  await answer.arrayBuffer();
  return Number(answer.headers.get('tollgate-snapshot-version'));
}

async function deltaAt(url: string, since: number) {
  const answer = await fetch(`${url}/v1/snapshot/delta?since=${since}`, { headers: runtimeAuth });
  const bytes = new Uint8Array(await answer.arrayBuffer());
  return { status: answer.status, body: bytes.length === 0 ? null : unpack(bytes) };
}

const features = ['chat.fast', 'image.generate', 'max_projects', 'api_tokens', 'export_pdf'];

describe('snapshot deltas', () => {
  it('sends only the customers changed since the version held', async () => {
    for (const id of ['d1', 'd2', 'd3']) await customerOnFree(id);
    const held = await versionAt(first.url);
    await admin(first.url, 'POST', '/v1/customers/d2/grants', {
      currency: 'ai_credits',
      amount: 10,
      category: 'paid',
      idempotency_key: 'delta-d2',
    });
    const { status, body } = await deltaAt(first.url, held);
    expect(status).toBe(200);
    expect(body.version).toBe(held + 1);
    expect(body.customers.map((customer: { id: string }) => customer.id)).toEqual(['d2']);
  });

  it('builds by delta a snapshot that decides exactly as the full one', async () => {
    const byDelta = await runtime(first.url);
    await admin(first.url, 'POST', '/v1/customers/d1/overrides', {
      feature: 'max_projects',
      limit: 10,
    });
    await admin(first.url, 'POST', '/v1/customers/d3/debits', {
      currency: 'ai_credits',
      amount: 30,
      idempotency_key: 'delta-d3',
    });
    expect(await byDelta.refresh()).toBe(true);
    const full = await runtime(first.url, { deltas: false });
    expect(byDelta.snapshotVersion).toBe(full.snapshotVersion);
    for (const customer of ['d1', 'd2', 'd3'])
      for (const feature of features)
        for (const quantity of [1, 5, 70, 200]) {
          const decided = byDelta.check(customer, feature, quantity);
          expect(decided).toEqual(full.check(customer, feature, quantity));
        }
    expect(byDelta.check('d1', 'max_projects', 10).allowed).toBe(true);
    expect(byDelta.check('d3', 'chat.fast', 71).reasonName).toBe('insufficient_credits');
  });

  it('never omits a customer another instance changed back: 204, then a full fetch', async () => {
    await versionAt(second.url);
    const { id: override } = await admin(first.url, 'POST', '/v1/customers/d2/overrides', {
      feature: 'max_projects',
      limit: 7,
    });
    target = first.url;
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const tollgate = await runtime(proxyUrl);
    const held = tollgate.snapshotVersion;
    expect(tollgate.check('d2', 'max_projects', 5).allowed).toBe(true);

    // The override ends through the first instance; the runtime's next refresh reaches
    // the second, which never saw version `held` and cannot prove what changed since.
    await admin(first.url, 'DELETE', `/v1/customers/d2/overrides/${override}`);
    target = second.url;
    answered.length = 0;
    expect(await tollgate.refresh()).toBe(true);
    expect(answered).toEqual([`/v1/snapshot/delta?since=${held} 204`, '/v1/snapshot 200']);
    expect(tollgate.check('d2', 'max_projects', 5)).toMatchObject({
      allowed: false,
      reasonName: 'limit_exceeded',
      limit: 3,
    });
  });
});
