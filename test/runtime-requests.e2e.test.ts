import diagnosticsChannel from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelNames, createTollgate } from '@tollgate/runtime';
import type { Tollgate, TollgateOptions } from '@tollgate/runtime';
import { admin, startControlPlane } from './processes/spawn.js';
import type { Child } from './processes/spawn.js';

// One control-plane process on 127.0.0.1; the runtimes live in this process, as they would
// in an application. Every customer starts on the free plan: 100 promotional ai_credits.
const directory = mkdtempSync(join(tmpdir(), 'tollgate-requests-'));
const redisPrefix = `tollgate-test-${process.pid}-${Date.now()}`;
let plane: Child & { url: string };
const runtimes: Tollgate[] = [];
const servers: Server[] = [];

beforeAll(async () => {
  plane = await startControlPlane({
    TG_DATABASE: join(directory, 'tollgate.sqlite'),
    TG_REDIS_PREFIX: redisPrefix,
  });
});

afterAll(async () => {
  for (const tollgate of runtimes) await tollgate.close().catch(() => undefined);
  for (const server of servers) server.closeAllConnections();
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  await plane.kill();
  const redis = new Redis('redis://127.0.0.1:6379');
  const keys = await redis.keys(`${redisPrefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  rmSync(directory, { recursive: true, force: true });
});

async function customerOnFree(id: string): Promise<void> {
  await admin(plane.url, 'POST', '/v1/customers', { id });
  await admin(plane.url, 'POST', `/v1/customers/${id}/subscriptions`, { plan: 'free' });
}

async function runtime(options: Partial<TollgateOptions> = {}): Promise<Tollgate> {
  const tollgate = await createTollgate({
    controlPlaneUrl: plane.url,
    apiKey: 'tg_runtime_process',
    stream: false,
    refreshIntervalMs: 0,
    batch: { maxEvents: 1000, maxDelayMs: 3_600_000 },
    ...options,
  });
  runtimes.push(tollgate);
  return tollgate;
}

async function balance(customer: string): Promise<number> {
  const answer = await admin(plane.url, 'GET', `/v1/customers/${customer}/balances`);
  return answer.balances[0].balance;
}

async function debits(customer: string): Promise<Array<{ amount: number }>> {
  const answer = await admin(plane.url, 'GET', `/v1/customers/${customer}/ledger?limit=100`);
  return answer.entries.filter((entry: { kind: string }) => entry.kind === 'debit');
}

/** Collects what a diagnostics channel publishes until `stop()`. */
function listen(channel: string) {
  const messages: Array<Record<string, unknown>> = [];
  const onMessage = (message: unknown) => messages.push(message as Record<string, unknown>);
  diagnosticsChannel.subscribe(channel, onMessage);
  return { messages, stop: () => diagnosticsChannel.unsubscribe(channel, onMessage) };
}

const coded = (code: string) => expect.objectContaining({ code });

describe('reserve and settle against a control-plane process', () => {
  it('holds 10 of 100, settles 4 to 96 once, and a released hold leaves 96', async () => {
    await customerOnFree('reserver');
    const tollgate = await runtime();
    const first = tollgate.reserve('reserver', 'chat.fast', 10);
    expect(first.decision.remaining).toBe(90);
    expect(tollgate.settle(first.reservation!, 4)).toMatchObject({
      charged: 4,
      outcome: 'settled',
    });
    expect(tollgate.settle(first.reservation!, 4).outcome).toBe('already_settled');
    expect(tollgate.settle(first.reservation!, 4).outcome).toBe('already_settled');
    expect(tollgate.check('reserver', 'chat.fast').remaining).toBe(96);
    await tollgate.flush();
    expect(await balance('reserver')).toBe(96);
    expect(await debits('reserver')).toEqual([expect.objectContaining({ amount: -4 })]);

    const second = tollgate.reserve('reserver', 'chat.fast', 10);
    expect(second.decision.remaining).toBe(86);
    expect(tollgate.release(second.reservation!)).toBe('released');
    expect(tollgate.release(second.reservation!)).toBe('already_released');
    expect(tollgate.check('reserver', 'chat.fast').remaining).toBe(96);
    await tollgate.flush();
    expect(await balance('reserver')).toBe(96);
    expect(await debits('reserver')).toHaveLength(1);
  });
});

describe('event times against the control plane clock', () => {
  it('accepts an event 240 s ahead, rejects one 17 min ahead with a visible code', async () => {
    await customerOnFree('clocks');
    const rejected = listen(channelNames.usageRejected);
    const ahead = await runtime({ clock: () => Date.now() + 240_000 });
    const farAhead = await runtime({ clock: () => Date.now() + 17 * 60_000 });

    expect(ahead.consume('clocks', 'chat.fast', 1).allowed).toBe(true);
    await ahead.flush();
    expect(ahead.usageStats).toMatchObject({ eventsAccepted: 1, eventsRejected: 0 });

    expect(farAhead.consume('clocks', 'chat.fast', 2).allowed).toBe(true);
    await farAhead.flush();
    rejected.stop();
    expect(farAhead.usageStats).toMatchObject({ eventsAccepted: 0, eventsRejected: 1 });
    expect(rejected.messages).toEqual([
      expect.objectContaining({
        rejected: [expect.objectContaining({ code: 'TOLLGATE_ERR_USAGE_EVENT_TIME' })],
      }),
    ]);
    expect(await balance('clocks')).toBe(99);
    expect(await debits('clocks')).toEqual([expect.objectContaining({ amount: -1 })]);
  });
});

describe('the past grace of event times', () => {
  it('accepts an event 23 h behind, rejects one 25 h behind (grace 24 h) visibly', async () => {
    await customerOnFree('late');
    const hourMs = 3_600_000;
    const rejected = listen(channelNames.usageRejected);
    const behind = await runtime({ clock: () => Date.now() - 23 * hourMs });
    const tooLate = await runtime({ clock: () => Date.now() - 25 * hourMs });

    expect(behind.consume('late', 'chat.fast', 1).allowed).toBe(true);
    await behind.flush();
    expect(behind.usageStats).toMatchObject({ eventsAccepted: 1, eventsRejected: 0 });

    expect(tooLate.consume('late', 'chat.fast', 3).allowed).toBe(true);
    await tooLate.flush();
    rejected.stop();
    expect(tooLate.usageStats).toMatchObject({ eventsAccepted: 0, eventsRejected: 1 });
    expect(rejected.messages).toEqual([
      expect.objectContaining({
        rejected: [expect.objectContaining({ code: 'TOLLGATE_ERR_USAGE_EVENT_TIME' })],
      }),
    ]);
    expect(await balance('late')).toBe(99);
  });
});

describe('bad input on the request path', () => {
  it('refuses unknown and expired reservations with coded errors, charging nothing', async () => {
    await customerOnFree('careless');
    let offsetMs = 0;
    const tollgate = await runtime({
      clock: () => Date.now() + offsetMs,
      reservationTtlMs: 60_000,
    });
    const forged = {
      id: 'forged',
      customer: 'careless',
      feature: 'chat.fast',
      quantity: 5,
      expiresAtMs: Date.now() + 60_000,
    };
    expect(() => tollgate.settle(forged, 5)).toThrow(coded('TOLLGATE_ERR_RESERVATION_NOT_FOUND'));
    expect(() => tollgate.release(forged)).toThrow(coded('TOLLGATE_ERR_RESERVATION_NOT_FOUND'));

    const { reservation } = tollgate.reserve('careless', 'chat.fast', 30);
    offsetMs = 60_000;
    expect(() => tollgate.settle(reservation!, 30)).toThrow(
      coded('TOLLGATE_ERR_RESERVATION_EXPIRED'),
    );
    expect(tollgate.check('careless', 'chat.fast').remaining).toBe(100);
    await tollgate.flush();
    expect(await balance('careless')).toBe(100);
    expect(await debits('careless')).toEqual([]);
  });

  it('refuses a negative actual and a negative or fractional estimate, no change', async () => {
    await customerOnFree('sloppy');
    const tollgate = await runtime();
    const { reservation } = tollgate.reserve('sloppy', 'chat.fast', 10);
    const invalid = coded('TOLLGATE_ERR_INVALID_QUANTITY');
    expect(() => tollgate.settle(reservation!, -1)).toThrow(invalid);
    expect(() => tollgate.reserve('sloppy', 'chat.fast', -2)).toThrow(invalid);
    expect(() => tollgate.reserve('sloppy', 'chat.fast', 2.5)).toThrow(invalid);
    expect(tollgate.check('sloppy', 'chat.fast').remaining).toBe(90);
    expect(tollgate.settle(reservation!, 3).outcome).toBe('settled');
    await tollgate.flush();
    expect(await balance('sloppy')).toBe(97);
    expect(await debits('sloppy')).toEqual([expect.objectContaining({ amount: -3 })]);
  });

  it('refuses a lease for an unknown customer with a coded 404 and carves nothing', async () => {
    const response = await fetch(`${plane.url}/v1/leases`, {
      method: 'POST',
      headers: { authorization: 'Bearer tg_runtime_process', 'content-type': 'application/json' },
      body: JSON.stringify({ customer: 'nobody', feature: 'chat.fast', requested: 10 }),
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'TOLLGATE_ERR_NOT_FOUND' });
    const redis = new Redis('redis://127.0.0.1:6379');
    const keys = await redis.keys(`${redisPrefix}:*nobody*`);
    await redis.quit();
    expect(keys).toEqual([]);

    // A runtime in lease mode asks for no lease at all: the snapshot lacks the customer.
    const tollgate = await runtime({ features: { 'chat.fast': { mode: 'lease' } } });
    const decision = await tollgate.consumeAsync('nobody', 'chat.fast', 1);
    expect(decision).toMatchObject({ allowed: false, reasonName: 'unknown_customer' });
  });

  it('ignores a stream that sends garbage or an older version, with coded errors', async () => {
    await customerOnFree('streamed');
    const held = await runtime();
    const version = held.snapshotVersion;
    expect(version).toBeGreaterThan(1);
    const pushed = [
      'this is not an event stream\n\n',
      'data: {"version": "not a number"}\n\n',
      'event: snapshot\ndata: not json at all\n\n',
      `event: snapshot\ndata: {"version": ${version - 1}}\n\n`,
    ];
    const url = await liarStream(pushed);
    const failed = listen(channelNames.streamFailed);
    const loaded = listen(channelNames.snapshotLoaded);
    const tollgate = await runtime({ controlPlaneUrl: url, stream: true });
    const before = tollgate.check('streamed', 'chat.fast');
    await until(() => failed.messages.length >= pushed.length);
    failed.stop();
    loaded.stop();

    const errors = failed.messages.map((message) => message.error);
    expect(errors).toEqual(pushed.map(() => coded('TOLLGATE_ERR_SNAPSHOT_STREAM')));
    expect(tollgate.snapshotVersion).toBe(version);
    // The first load (from version 0) is the runtime's start; no swap may follow it.
    const swaps = loaded.messages.filter((message) => message.previousVersion !== 0);
    expect(swaps.filter((message) => message.runtimeId === tollgate.runtimeId)).toEqual([]);
    expect(tollgate.check('streamed', 'chat.fast')).toEqual(before);
  });
});

/**
 * A stand-in for the stream route only: it sends `events` and holds the connection open.
 * Every other request is forwarded to the real control plane.
 */
async function liarStream(events: string[]): Promise<string> {
  const server = createServer(async (request, response) => {
    if (request.url === '/v1/snapshot/stream') {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const event of events) response.write(event);
      return;
    }
    const forwarded = await fetch(plane.url + request.url, {
      method: request.method,
      headers: { authorization: request.headers.authorization ?? '' },
    });
    const headers: Record<string, string> = {};
    forwarded.headers.forEach((value, name) => {
      if (!['content-length', 'content-encoding', 'transfer-encoding'].includes(name)) {
        headers[name] = value;
      }
    });
    response.writeHead(forwarded.status, headers);
    response.end(Buffer.from(await forwarded.arrayBuffer()));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return `http://127.0.0.1:${address.port}`;
}

/** Waits for `done()` on the event loop's turns; the test's own timeout bounds it. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
}
