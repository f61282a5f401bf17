import diagnosticsChannel from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../examples/ai-assistant/src/harness.js';
import { startDemoServers } from '../examples/ai-assistant/src/servers.js';
import type { DemoServers } from '../examples/ai-assistant/src/servers.js';

const directory = mkdtempSync(join(tmpdir(), 'tollgate-seats-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const setups = [
  ['wasm', 'express'],
  ['reference', 'koa'],
  ['wasm', 'nest'],
] as const;

/**
 * Seats end to end: assignments made through the control plane's HTTP API reach the
 * runtime in the snapshot, and the example app (the user in the `tollgate-user` header)
 * denies `sso`, the Quillstone feature that requires a seat, to a user without one.
 */
describe.each(setups)('seats over HTTP: %s evaluator, %s app', (evaluator, framework) => {
  let servers: DemoServers;
  let admin: HttpClient;
  let app: HttpClient;

  const sso = async (customer: string, user?: string) => {
    const headers: Record<string, string> = { 'tollgate-customer': customer };
    if (user !== undefined) headers['tollgate-user'] = user;
    const answer = await app.send('GET', '/sso', { headers });
    return answer.status === 200 ? 'allowed' : `${answer.status} ${answer.body.reason}`;
  };
  const seat = (customer: string, user: string) =>
    admin.send('POST', `/v1/customers/${customer}/seats`, { body: { user } });
  const subscribe = async (customer: string, plan: string, quantity: number) => {
    await admin.send('POST', '/v1/customers', { body: { id: customer } });
    await admin.send('POST', `/v1/customers/${customer}/subscriptions`, {
      body: { plan, quantity },
    });
  };

  beforeAll(async () => {
    servers = await startDemoServers({
      databasePath: join(directory, `${evaluator}-${framework}.sqlite`),
      evaluator,
      framework,
    });
    admin = new HttpClient(servers.controlPlaneUrl, {
      authorization: `Bearer ${servers.adminKey}`,
    });
    app = new HttpClient(servers.appUrl);
    await subscribe('crew', 'team', 3);
    for (const user of ['alice', 'bob', 'carol'])
      expect((await seat('crew', user)).status).toBe(201);
    await subscribe('acme', 'pro', 1);
    await servers.tollgate.refresh();
  });
  afterAll(() => servers.close());

  it('allows seated users sso; denies others and user-less requests no_seat', async () => {
    expect(await sso('crew', 'alice')).toBe('allowed');
    expect(await sso('crew', 'carol')).toBe('allowed');
    expect(await sso('crew', 'erin')).toBe('403 no_seat');
    expect(await sso('crew')).toBe('403 no_seat');
  });

  it('puts unknown customers and a lack of access before no_seat', async () => {
    expect(await sso('acme', 'alice')).toBe('403 no_access');
    expect(await sso('ghost', 'alice')).toBe('403 unknown_customer');
  });

  it('decides no_seat through the runtime API only for features that require a seat', () => {
    const denied = servers.tollgate.consume('crew', 'chat.fast', 1, { user: 'erin' });
    expect(denied.reasonName).toBe('allowed');
    const sso = servers.tollgate.check('crew', 'sso', 1, { user: 'erin' });
    expect([sso.allowed, sso.reasonName]).toEqual([false, 'no_seat']);
    expect(servers.tollgate.check('crew', 'sso', 1, { user: 'bob' }).reasonName).toBe('allowed');
    // Asked without a user, a seat feature fails closed; a feature without seats does not.
    const userless = servers.tollgate.check('crew', 'sso', 1);
    expect([userless.allowed, userless.reasonName]).toEqual([false, 'no_seat']);
    expect(servers.tollgate.consume('crew', 'sso', 1).reasonName).toBe('no_seat');
    expect(servers.tollgate.reserve('crew', 'sso', 1).decision.reasonName).toBe('no_seat');
    expect(servers.tollgate.check('crew', 'chat.fast', 1).reasonName).toBe('allowed');
  });

  it('seats the earliest two of three once the quantity drops to 2 mid-period', async () => {
    servers.clock.set('2026-03-15T00:00:00Z');
    const changed = await admin.send('POST', '/v1/customers/crew/subscription/change', {
      body: { quantity: 2 },
    });
    expect(changed.body.quantity).toBe(2);
    const seats = await admin.send('GET', '/v1/customers/crew/seats');
    expect(seats.body).toMatchObject({
      limit: 2,
      holders: ['alice', 'bob', 'carol'],
      seated: ['alice', 'bob'],
      available: 0,
    });
    expect((await seat('crew', 'dave')).body.code).toBe('TOLLGATE_ERR_NO_SEAT_AVAILABLE');
    await servers.tollgate.refresh();
    expect([await sso('crew', 'bob'), await sso('crew', 'carol')]).toEqual([
      'allowed',
      '403 no_seat',
    ]);

    await admin.send('POST', '/v1/customers/crew/subscription/change', { body: { quantity: 4 } });
    expect((await seat('crew', 'dave')).status).toBe(201);
    await servers.tollgate.refresh();
    expect([await sso('crew', 'carol'), await sso('crew', 'dave')]).toEqual(['allowed', 'allowed']);
  });

  it('counts a user removed and added again once', async () => {
    expect((await admin.send('DELETE', '/v1/customers/crew/seats/alice')).status).toBe(200);
    expect((await seat('crew', 'alice')).status).toBe(201);
    const again = await seat('crew', 'alice');
    expect([again.status, again.body.assigned]).toEqual([200, false]);
    const seats = await admin.send('GET', '/v1/customers/crew/seats');
    expect(seats.body).toMatchObject({
      holders: ['bob', 'carol', 'dave', 'alice'],
      available: 0,
    });
  });

  it('seats exactly 3 of 24 users assigned concurrently, and only those 3 get sso', async () => {
    await subscribe('race', 'team', 3);
    const users = Array.from({ length: 24 }, (_, index) => `racer-${index}`);
    const replies = await Promise.all(users.map((user) => seat('race', user)));
    const seated = users.filter((_, index) => replies[index]!.status === 201);
    expect(seated).toHaveLength(3);
    expect(replies.filter((reply) => reply.status === 409)).toHaveLength(21);
    await servers.tollgate.refresh();
    const answers = await Promise.all(users.map((user) => sso('race', user)));
    expect(users.filter((_, index) => answers[index] === 'allowed')).toEqual(seated);
  });

  it('denies stale_snapshot at the trial end instant, then no_access once refreshed', async () => {
    servers.clock.set('2026-03-16T00:00:00Z');
    await admin.send('POST', '/v1/customers', { body: { id: 'tryme' } });
    await admin.send('POST', '/v1/customers/tryme/trials', { body: { trial: 'pro_trial' } });
    await servers.tollgate.refresh();
    const trialEndMs = Date.parse('2026-03-30T00:00:00Z');
    expect(servers.tollgate.nextChangeAtMs('tryme')).toBe(trialEndMs);

    const pdf = (customer: string) =>
      app.send('GET', '/export/pdf', { headers: { 'tollgate-customer': customer } });
    expect((await pdf('tryme')).status).toBe(200);
    servers.clock.set('2026-03-30T00:00:00Z');
    const loaded = nextMessage('tollgate:snapshot:loaded');
    const stale = nextMessage('tollgate:snapshot:entry-stale');
    // The entry held predates the trial's end, so it is stale for tryme: the default
    // `whenEntryStale: 'deny'` answers, and the request starts the refresh.
    const atEnd = await pdf('tryme');
    expect([atEnd.status, atEnd.body.reason]).toEqual([503, 'stale_snapshot']);
    expect(await stale).toMatchObject({ customer: 'tryme', changeAtMs: trialEndMs });
    await loaded;
    expect(servers.tollgate.nextChangeAtMs('tryme')).not.toBe(trialEndMs);
    const denied = await pdf('tryme');
    expect([denied.status, denied.body.reason]).toEqual([403, 'no_access']);
  });
});

/** Resolves with the next message published on a diagnostics channel. */
function nextMessage(channel: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      diagnosticsChannel.unsubscribe(channel, onMessage);
      resolve(message as Record<string, unknown>);
    };
    diagnosticsChannel.subscribe(channel, onMessage);
  });
}
