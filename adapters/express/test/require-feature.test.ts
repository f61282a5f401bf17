import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TollgateError, parseQuantity } from '@tollgate/core';
import { createExpressTollgate, settlementChannelName } from '../src/index.js';
import { startHarness } from '../../../packages/runtime/test/helpers/harness.js';
import type { Harness } from '../../../packages/runtime/test/helpers/harness.js';

interface Settlement {
  status: number;
  charged: number;
  outcome: string | null;
}

/** Collects settlements, and resolves waiters once a given number have been published. */
class SettlementLog {
  readonly entries: Settlement[] = [];
  #waiters: Array<{ count: number; resolve: () => void }> = [];
  readonly #handler = (message: unknown): void => {
    this.entries.push(message as Settlement);
    const ready = this.#waiters.filter((waiter) => waiter.count <= this.entries.length);
    for (const waiter of ready) waiter.resolve();
    this.#waiters = this.#waiters.filter((waiter) => waiter.count > this.entries.length);
  };

  constructor() {
    diagnosticsChannel.subscribe(settlementChannelName, this.#handler);
  }

  reach(count: number): Promise<void> {
    if (this.entries.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  stop(): void {
    diagnosticsChannel.unsubscribe(settlementChannelName, this.#handler);
  }
}

describe('requireFeature', () => {
  let harness: Harness;
  let server: Server;
  let baseUrl: string;
  let settlements: SettlementLog;
  let handlerStarted: () => void = () => undefined;

  beforeEach(async () => {
    harness = await startHarness();
    settlements = new SettlementLog();
    const gate = createExpressTollgate(harness.tollgate);
    const app = express();
    app.use(express.json());
    const images = gate.requireFeature('image_generate', {
      quantity: (req) => parseQuantity(req.body.count, 'count'),
    });
    app.post('/images', images, (req, res) => {
      if (req.query.actual !== undefined) req.tollgate!.setActual(Number(req.query.actual));
      if (req.query.fail === 'status') return void res.status(502).json({ failed: true });
      if (req.query.fail === 'throw') throw new Error('the model failed');
      if (req.query.fail === 'coded') throw new TollgateError('TOLLGATE_ERR_VALIDATION', 'no');
      if (req.query.hang !== undefined) return handlerStarted();
      res.json({ remaining: req.tollgate!.decision.remaining });
    });
    app.get('/api', gate.requireFeature('api_calls'), (_req, res) => void res.json({}));
    app.get('/chat', gate.requireFeature('chat_message'), (_req, res) => void res.json({}));
    app.get('/export', gate.requireFeature('export_pdf'), (_req, res) => void res.json({}));
    const broken = gate.requireFeature('image_generate', { quantity: () => 1.5 });
    app.get('/broken', broken, (_req, res) => void res.json({}));
    app.use(gate.errorHandler());
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    settlements.stop();
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
    await harness.stop();
  });

  async function call(
    method: 'GET' | 'POST',
    path: string,
    options: { customer?: string | null; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; headers: Record<string, unknown>; body: unknown }> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.customer !== null) headers['tollgate-customer'] = options.customer ?? 'cus_pro';
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await request(baseUrl + path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.body.text();
    const isJson = /json/.test(String(response.headers['content-type']));
    return {
      status: response.statusCode,
      headers: response.headers,
      body: isJson ? JSON.parse(text) : text,
    };
  }

  const creditsLeft = (): number | null =>
    harness.tollgate.check('cus_pro', 'image_generate', 0).remaining;

  it('answers 402 with a problem document when the credits cannot cover the request', async () => {
    const response = await call('POST', '/images', { body: { count: 51 } });
    expect(response.status).toBe(402);
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.headers['ratelimit']).toBeUndefined();
    expect(response.body).toEqual({
      type: 'urn:tollgate:problem:insufficient_credits',
      title: 'Insufficient credits',
      status: 402,
      reason: 'insufficient_credits',
      limit: null,
      used: 102,
      remaining: 100,
      reset_at: null,
      snapshot_version: 1,
    });
  });

  it('answers 403 no_access for a feature the customer lacks', async () => {
    const response = await call('GET', '/export', { customer: 'cus_free' });
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({
      status: 403,
      reason: 'no_access',
      title: 'No access to this feature',
    });
  });

  it('answers 403 unknown_customer for a customer the snapshot lacks', async () => {
    const response = await call('GET', '/export', { customer: 'cus_nobody' });
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ reason: 'unknown_customer' });
  });

  it('answers 429 with rate-limit headers once a metered limit is reached', async () => {
    for (let call_ = 0; call_ < 3; call_++) {
      const allowed = await call('GET', '/api', { customer: 'cus_free' });
      expect(allowed.status).toBe(200);
      expect(allowed.headers['ratelimit']).toBe(`"api_calls";r=${2 - call_};t=2635200`);
    }
    const response = await call('GET', '/api', { customer: 'cus_free' });
    expect(response.status).toBe(429);
    expect(response.headers['ratelimit-policy']).toBe('"api_calls";q=3');
    expect(response.headers['ratelimit']).toBe('"api_calls";r=0;t=2635200');
    expect(response.headers['retry-after']).toBe('2635200');
    expect(response.body).toEqual({
      type: 'urn:tollgate:problem:limit_exceeded',
      title: 'Limit exceeded',
      status: 429,
      reason: 'limit_exceeded',
      limit: 3,
      used: 3,
      remaining: 0,
      reset_at: '2026-04-01T00:00:00.000Z',
      snapshot_version: 1,
    });
  });

  it('settles the held quantity after a 2xx response', async () => {
    const response = await call('POST', '/images', { body: { count: 10 } });
    expect(response).toMatchObject({ status: 200, body: { remaining: 80 } });
    await settlements.reach(1);
    expect(settlements.entries[0]).toMatchObject({ status: 200, charged: 10, outcome: 'settled' });
    expect(creditsLeft()).toBe(80);
  });

  it('settles the quantity the handler set with setActual', async () => {
    await call('POST', '/images?actual=4', { body: { count: 10 } });
    await settlements.reach(1);
    expect(creditsLeft()).toBe(92);
    await harness.tollgate.flush();
    expect(harness.stub.total('cus_pro', 'image_generate')).toBe(4);
  });

  it('releases the hold when the handler answers with a 5xx', async () => {
    const response = await call('POST', '/images?fail=status', { body: { count: 10 } });
    expect(response.status).toBe(502);
    await settlements.reach(1);
    expect(settlements.entries[0]).toMatchObject({ outcome: 'released', charged: 0 });
    expect(creditsLeft()).toBe(100);
  });

  it('releases the hold when the handler throws', async () => {
    const response = await call('POST', '/images?fail=throw', { body: { count: 10 } });
    expect(response.status).toBe(500);
    await settlements.reach(1);
    expect(settlements.entries[0]).toMatchObject({ outcome: 'released' });
    expect(creditsLeft()).toBe(100);
  });

  it('turns a TollgateError thrown by the handler into its JSON and releases', async () => {
    const response = await call('POST', '/images?fail=coded', { body: { count: 10 } });
    expect(response).toMatchObject({
      status: 400,
      body: { code: 'TOLLGATE_ERR_VALIDATION', message: 'no' },
    });
    await settlements.reach(1);
    expect(creditsLeft()).toBe(100);
  });

  it('releases the hold when the client disconnects before the response', async () => {
    const started = new Promise<void>((resolve) => {
      handlerStarted = resolve;
    });
    const abort = new AbortController();
    const pending = request(`${baseUrl}/images?hang=1`, {
      method: 'POST',
      headers: { 'tollgate-customer': 'cus_pro', 'content-type': 'application/json' },
      body: JSON.stringify({ count: 10 }),
      signal: abort.signal,
    });
    await started;
    expect(creditsLeft()).toBe(80);
    abort.abort();
    await expect(pending).rejects.toThrow();
    await settlements.reach(1);
    expect(settlements.entries[0]).toMatchObject({ outcome: 'released' });
    expect(creditsLeft()).toBe(100);
  });

  it('answers 401 when the request names no customer', async () => {
    const response = await call('GET', '/api', { customer: null });
    expect(response).toEqual({
      status: 401,
      headers: expect.anything(),
      body: {
        code: 'TOLLGATE_ERR_MISSING_CUSTOMER',
        message: 'the request names no customer: send the tollgate-customer header',
      },
    });
  });

  it('answers 400 when the customer id is not an identifier', async () => {
    const response = await call('GET', '/api', { customer: 'cus/../x' });
    expect(response).toMatchObject({
      status: 400,
      body: { code: 'TOLLGATE_ERR_INVALID_IDENTIFIER', field: 'customer' },
    });
  });

  it('answers 500 and charges nothing when the quantity function misbehaves', async () => {
    const response = await call('GET', '/broken');
    expect(response).toMatchObject({
      status: 500,
      body: { code: 'TOLLGATE_ERR_QUANTITY_FUNCTION' },
    });
    expect(creditsLeft()).toBe(100);
    expect(settlements.entries).toEqual([]);
  });

  it('answers the 400 of an InvalidQuantityError thrown by the quantity function', async () => {
    const response = await call('POST', '/images', { body: { count: 'many' } });
    expect(response).toMatchObject({
      status: 400,
      body: { code: 'TOLLGATE_ERR_INVALID_QUANTITY', field: 'count' },
    });
    expect(creditsLeft()).toBe(100);
  });

  it('charges a request retried with the same Idempotency-Key once', async () => {
    const headers = { 'idempotency-key': 'req-42' };
    await call('POST', '/images', { body: { count: 10 }, headers });
    await settlements.reach(1);
    await call('POST', '/images', { body: { count: 10 }, headers });
    await settlements.reach(2);
    expect(settlements.entries.map((entry) => entry.outcome)).toEqual([
      'settled',
      'already_settled',
    ]);
    expect(creditsLeft()).toBe(80);
  });

  it('refuses an Idempotency-Key reused with another quantity: 422, nothing charged', async () => {
    const headers = { 'idempotency-key': 'req-43' };
    await call('POST', '/images', { body: { count: 1 }, headers });
    await settlements.reach(1);
    expect(creditsLeft()).toBe(98);
    const reused = await call('POST', '/images', { body: { count: 40 }, headers });
    expect(reused).toMatchObject({
      status: 422,
      body: { code: 'TOLLGATE_ERR_IDEMPOTENCY_MISMATCH', field: 'idempotencyKey' },
    });
    expect(creditsLeft()).toBe(98);
    expect(settlements.entries).toHaveLength(1);
  });

  it('allows exactly 100 of 200 concurrent requests against 100 credits', async () => {
    const responses = await Promise.all(Array.from({ length: 200 }, () => call('GET', '/chat')));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(100);
    expect(statuses.filter((status) => status === 402)).toHaveLength(100);
    await settlements.reach(100);
    expect(harness.tollgate.check('cus_pro', 'chat_message', 0).remaining).toBe(0);
    await harness.tollgate.flush();
    expect(harness.stub.total('cus_pro', 'chat_message')).toBe(100);
  });
});
