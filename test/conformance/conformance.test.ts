// The one conformance suite every adapter passes. It runs past 500 lines on purpose: each
// case is a few lines of HTTP and exact values, and keeping them in one file is what makes
// "every adapter passes every case" something a reader can check at a glance.
import diagnosticsChannel from 'node:diagnostics_channel';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { settlementChannelName as expressChannel } from '../../adapters/express/src/index.js';
import { settlementChannelName as koaChannel } from '../../adapters/koa/src/index.js';
import { settlementChannelName as nestChannel } from '../../adapters/nestjs/src/index.js';
import { startHarness } from '../../packages/runtime/test/helpers/harness.js';
import type { Harness } from '../../packages/runtime/test/helpers/harness.js';
import { startExpressApp } from './express-app.js';
import { startKoaApp } from './koa-app.js';
import { bootWithUnknownFeature, startNestApp } from './nest-app.js';
import { brokenQuantities } from './routes.js';
import type { AppOptions, RunningApp } from './routes.js';
import {
  conformanceFeatures,
  conformanceSnapshot,
  exportMaxAgeMs,
  seatedUser,
} from './snapshot.js';

interface AdapterUnderTest {
  name: string;
  channel: string;
  start(options: AppOptions): Promise<RunningApp>;
  /** Boots a route naming an unknown feature, or says why the adapter cannot check it. */
  bootUnknownFeature: ((runtime: Harness['tollgate']) => Promise<unknown>) | string;
}

// Middleware is built before it is mounted, so it knows no handler to name, and routes
// may pick features per request (the assistant's `chat.${model}`): an unknown feature
// is a 403 unknown_feature per request instead, which every adapter is tested for.
const lacks = 'names a feature the catalog lacks';
const noHandlerName = 'middleware knows no handler name; unknown features are 403s per request';

const adapters: AdapterUnderTest[] = [
  {
    name: 'express',
    channel: expressChannel,
    start: startExpressApp,
    bootUnknownFeature: noHandlerName,
  },
  { name: 'koa', channel: koaChannel, start: startKoaApp, bootUnknownFeature: noHandlerName },
  {
    name: 'nestjs',
    channel: nestChannel,
    start: startNestApp,
    bootUnknownFeature: bootWithUnknownFeature,
  },
];

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: any;
}

/** Counts settlements on a channel and lets a test wait for the n-th one. */
class Settlements {
  readonly entries: Array<{ status: number; charged: number; outcome: string | null }> = [];
  #waiters: Array<{ count: number; resolve: () => void }> = [];
  readonly #channel: string;
  readonly #handler = (message: unknown): void => {
    this.entries.push(message as Settlements['entries'][number]);
    for (const waiter of this.#waiters.filter((w) => w.count <= this.entries.length)) {
      waiter.resolve();
    }
  };

  constructor(channel: string) {
    this.#channel = channel;
    diagnosticsChannel.subscribe(channel, this.#handler);
  }

  reach(count: number): Promise<void> {
    if (this.entries.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  stop(): void {
    diagnosticsChannel.unsubscribe(this.#channel, this.#handler);
  }
}

describe.each(adapters)('the $name adapter', (adapter) => {
  let harness: Harness;
  let app: RunningApp;
  let settlements: Settlements;
  let handlerStarted: () => void = () => undefined;

  async function start(gate: AppOptions['gate'] = {}): Promise<void> {
    app = await adapter.start({
      runtime: harness.tollgate,
      gate,
      handlerStarted: () => handlerStarted(),
    });
  }

  beforeEach(async () => {
    harness = await startHarness({ features: conformanceFeatures }, conformanceSnapshot);
    settlements = new Settlements(adapter.channel);
  });

  afterEach(async () => {
    settlements.stop();
    await app?.close();
    await harness.stop();
  });

  async function call(
    method: 'GET' | 'POST',
    path: string,
    options: { customer?: string | null; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.customer !== null) headers['tollgate-customer'] = options.customer ?? 'cus_pro';
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await request(app.url + path, {
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

  /** The problem document of a denial that carries no limit (a seat, a stale snapshot). */
  const unlimitedProblem = (reason: string, title: string, status: number): object => ({
    type: `urn:tollgate:problem:${reason}`,
    title,
    status,
    reason,
    limit: null,
    used: 0,
    remaining: null,
    reset_at: null,
    snapshot_version: 1,
  });

  const credits = (): number | null =>
    harness.tollgate.check('cus_pro', 'chat_message', 0).remaining;

  describe('allow and deny', () => {
    beforeEach(() => start());

    it('allows an entitled customer and hands the decision to the handler', async () => {
      const response = await call('GET', '/api');
      expect(response).toMatchObject({ status: 200, body: { remaining: 99 } });
    });

    it('answers 403 no_access with a problem document', async () => {
      const response = await call('GET', '/export', { customer: 'cus_free' });
      expect(response.status).toBe(403);
      expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(response.body).toEqual({
        type: 'urn:tollgate:problem:no_access',
        title: 'No access to this feature',
        status: 403,
        reason: 'no_access',
        limit: null,
        used: 0,
        remaining: null,
        reset_at: null,
        snapshot_version: 1,
      });
    });

    it('answers 403 unknown_feature for a feature the catalog lacks', async () => {
      const response = await call('GET', '/unknown');
      expect(response).toMatchObject({ status: 403, body: { reason: 'unknown_feature' } });
    });

    it('answers 403 unknown_customer for a customer the snapshot lacks', async () => {
      const response = await call('GET', '/export', { customer: 'cus_nobody' });
      expect(response).toMatchObject({ status: 403, body: { reason: 'unknown_customer' } });
    });

    it('answers 402 insufficient_credits when the balance cannot cover the request', async () => {
      const response = await call('POST', '/images', { body: { count: 51 } });
      expect(response).toMatchObject({
        status: 402,
        body: { reason: 'insufficient_credits', remaining: 100, limit: null },
      });
      expect(response.headers['ratelimit']).toBeUndefined();
    });

    it('answers 429 with rate-limit headers and Retry-After past a metered limit', async () => {
      for (let index = 0; index < 3; index += 1) {
        const allowed = await call('GET', '/api', { customer: 'cus_free' });
        expect(allowed.status).toBe(200);
        expect(allowed.headers['ratelimit-policy']).toBe('"api_calls";q=3');
        expect(allowed.headers['ratelimit']).toBe(`"api_calls";r=${2 - index};t=2635200`);
      }
      const denied = await call('GET', '/api', { customer: 'cus_free' });
      expect(denied.status).toBe(429);
      expect(denied.headers['ratelimit']).toBe('"api_calls";r=0;t=2635200');
      expect(denied.headers['retry-after']).toBe('2635200');
      expect(denied.body).toMatchObject({
        reason: 'limit_exceeded',
        limit: 3,
        used: 3,
        remaining: 0,
        reset_at: '2026-04-01T00:00:00.000Z',
      });
    });
  });

  describe('seats', () => {
    beforeEach(() => start({ user: 'tollgate-user' }));

    it('allows a user holding a seat a feature that requires one', async () => {
      const response = await call('GET', '/seat', { headers: { 'tollgate-user': seatedUser } });
      expect(response).toEqual({ status: 200, headers: response.headers, body: { ok: true } });
    });

    it('answers 403 no_seat to a user the account has given no seat', async () => {
      const response = await call('GET', '/seat', { headers: { 'tollgate-user': 'usr_other' } });
      expect(response.status).toBe(403);
      expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(response.body).toEqual(unlimitedProblem('no_seat', 'No seat assigned', 403));
    });

    it('answers 403 no_seat when the request names no user', async () => {
      const response = await call('GET', '/seat');
      expect(response.body).toEqual(unlimitedProblem('no_seat', 'No seat assigned', 403));
    });

    it('still answers no_access first to a customer that lacks the feature', async () => {
      const response = await call('GET', '/seat', {
        customer: 'cus_free',
        headers: { 'tollgate-user': seatedUser },
      });
      expect(response).toMatchObject({ status: 403, body: { reason: 'no_access' } });
    });
  });

  describe('staleness', () => {
    beforeEach(() => start());

    it('answers 503 stale_snapshot past the max age of a feature that fails closed', async () => {
      expect((await call('GET', '/export')).status).toBe(200);
      harness.clock.advance(exportMaxAgeMs + 1);
      const stale = await call('GET', '/export');
      expect(stale.status).toBe(503);
      expect(stale.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(stale.body).toEqual(
        unlimitedProblem('stale_snapshot', 'Entitlements are out of date', 503),
      );
      // A feature without a stale policy is still decided from the snapshot held.
      expect(await call('GET', '/api')).toMatchObject({ status: 200, body: { remaining: 99 } });
    });

    it('allows the same feature while the snapshot is exactly at its max age', async () => {
      harness.clock.advance(exportMaxAgeMs);
      expect(await call('GET', '/export')).toMatchObject({ status: 200, body: { ok: true } });
    });
  });

  describe('identity', () => {
    it('answers 401 with a coded body when the customer header is missing', async () => {
      await start();
      const response = await call('GET', '/api', { customer: null });
      expect(response).toMatchObject({
        status: 401,
        body: {
          code: 'TOLLGATE_ERR_MISSING_CUSTOMER',
          message: 'the request names no customer: send the tollgate-customer header',
        },
      });
    });

    it('answers 400 when the customer is not an identifier', async () => {
      await start();
      const response = await call('GET', '/api', { customer: 'cus/../x' });
      expect(response).toMatchObject({
        status: 400,
        body: { code: 'TOLLGATE_ERR_INVALID_IDENTIFIER', field: 'customer' },
      });
    });

    it('reads the customer from a verified JWT claim', async () => {
      await start({ customer: { claim: 'sub' } });
      const allowed = await call('GET', '/api', {
        customer: null,
        headers: { 'x-verified-sub': 'cus_free' },
      });
      expect(allowed.headers['ratelimit']).toBe('"api_calls";r=2;t=2635200');
      const missing = await call('GET', '/api', { customer: null });
      expect(missing).toMatchObject({
        status: 401,
        body: { message: 'the request names no customer: the verified token has no sub claim' },
      });
    });

    it('reads the customer from a function of the request', async () => {
      await start({ customer: () => 'cus_free' });
      const response = await call('GET', '/api', { customer: null });
      expect(response.headers['ratelimit']).toBe('"api_calls";r=2;t=2635200');
    });
  });

  describe('metering, reserve and settle', () => {
    beforeEach(() => start());

    it('meters the quantity the request names and settles it after a 2xx', async () => {
      const response = await call('POST', '/images', { body: { count: 10 } });
      expect(response).toMatchObject({ status: 200, body: { count: 10 } });
      await settlements.reach(1);
      expect(settlements.entries[0]).toMatchObject({ charged: 10, outcome: 'settled' });
      expect(harness.tollgate.check('cus_pro', 'image_generate', 0).remaining).toBe(80);
      await harness.tollgate.flush();
      expect(harness.stub.total('cus_pro', 'image_generate')).toBe(10);
    });

    it('settles the estimate of a reservation when the handler reports nothing', async () => {
      await call('POST', '/reserve');
      await settlements.reach(1);
      expect(credits()).toBe(90);
    });

    it('settles the quantity the handler reported instead of the estimate', async () => {
      await call('POST', '/reserve?actual=4');
      await settlements.reach(1);
      expect(credits()).toBe(96);
      await harness.tollgate.flush();
      expect(harness.stub.total('cus_pro', 'chat_message')).toBe(4);
    });

    it('settles the quantity the actual function computes after the handler', async () => {
      await call('POST', '/reserve-result', { body: { tokens: 7 } });
      await settlements.reach(1);
      expect(credits()).toBe(93);
    });

    it.each(Object.keys(brokenQuantities))(
      'answers a coded 500, charging nothing, when the quantity function returns a %s',
      async (as) => {
        const response = await call('GET', `/broken/${as}`);
        expect(response.status).toBe(500);
        expect(response.body).toEqual({
          code: 'TOLLGATE_ERR_QUANTITY_FUNCTION',
          message: 'the quantity function did not return an integer from 0 to 2^53 - 1',
        });
        expect(harness.tollgate.check('cus_pro', 'image_generate', 0).remaining).toBe(100);
        await harness.tollgate.flush();
        expect(harness.stub.total('cus_pro', 'image_generate')).toBe(0);
        expect(settlements.entries).toEqual([]);
      },
    );

    it('answers the 400 of an invalid quantity in the request and charges nothing', async () => {
      const response = await call('POST', '/images', { body: { count: -1 } });
      expect(response).toMatchObject({
        status: 400,
        body: { code: 'TOLLGATE_ERR_INVALID_QUANTITY', field: 'count' },
      });
      expect(harness.tollgate.check('cus_pro', 'image_generate', 0).remaining).toBe(100);
    });

    it('lets a handler consume through the request context without a guard', async () => {
      const response = await call('GET', '/context');
      expect(response).toMatchObject({ status: 200, body: { remaining: 97 } });
      expect(credits()).toBe(97);
    });

    it('answers 401 when a handler asks the request context for a missing customer', async () => {
      const response = await call('GET', '/context', { customer: null });
      expect(response).toMatchObject({
        status: 401,
        body: { code: 'TOLLGATE_ERR_MISSING_CUSTOMER' },
      });
    });
  });

  describe('streamed responses', () => {
    beforeEach(() => start());

    it('settles the reported token count when the stream ends', async () => {
      const response = await call('GET', '/stream?tokens=6');
      expect(response.status).toBe(200);
      expect(response.body).toBe(Array.from({ length: 6 }, (_, i) => `token ${i}\n`).join(''));
      await settlements.reach(1);
      expect(settlements.entries[0]).toMatchObject({ status: 200, charged: 6, outcome: 'settled' });
      expect(credits()).toBe(94);
    });

    it('releases the hold when the stream fails halfway, charging nothing', async () => {
      const response = await request(`${app.url}/stream-fail`, {
        headers: { 'tollgate-customer': 'cus_pro' },
      });
      expect(response.statusCode).toBe(200);
      // The status was sent with the first line; the failure can only cut the body short.
      await expect(response.body.text()).rejects.toThrow();
      await settlements.reach(1);
      expect(settlements.entries).toEqual([
        expect.objectContaining({ status: 0, charged: 0, outcome: 'released' }),
      ]);
      expect(credits()).toBe(100);
      await harness.tollgate.flush();
      expect(harness.stub.total('cus_pro', 'chat_message')).toBe(0);
    });

    it('releases the hold when the client disconnects mid-stream', async () => {
      const started = new Promise<void>((resolve) => {
        handlerStarted = resolve;
      });
      const abort = new AbortController();
      const response = await request(`${app.url}/stream?tokens=6&hang=1`, {
        headers: { 'tollgate-customer': 'cus_pro' },
        signal: abort.signal,
      });
      expect(response.statusCode).toBe(200);
      await started;
      expect(credits()).toBe(80);
      abort.abort();
      await response.body.text().catch(() => undefined);
      await settlements.reach(1);
      expect(settlements.entries[0]).toMatchObject({ charged: 0, outcome: 'released' });
      expect(credits()).toBe(100);
    });
  });

  describe('handler failures', () => {
    it('releases the hold when the handler throws', async () => {
      await start();
      const response = await call('GET', '/fail/throw');
      expect(response.status).toBe(500);
      await settlements.reach(1);
      expect(settlements.entries[0]).toMatchObject({ outcome: 'released', charged: 0 });
      expect(credits()).toBe(100);
    });

    it('answers a thrown coded 400 with its JSON and releases the hold', async () => {
      await start();
      const response = await call('GET', '/fail/invalid');
      expect(response.status).toBe(400);
      expect(response.body).toEqual({
        code: 'TOLLGATE_ERR_VALIDATION',
        message: 'prompt: expected a string',
        field: 'prompt',
      });
      await settlements.reach(1);
      expect(settlements.entries).toEqual([
        expect.objectContaining({ status: 400, charged: 0, outcome: 'released' }),
      ]);
      expect(credits()).toBe(100);
    });

    it('releases a thrown 400 even when chargeClientErrors is on: it failed', async () => {
      await start({ chargeClientErrors: true });
      expect((await call('GET', '/fail/invalid')).status).toBe(400);
      await settlements.reach(1);
      expect(settlements.entries[0]).toMatchObject({ status: 400, outcome: 'released' });
      expect(credits()).toBe(100);
    });

    it('releases the hold when the handler answers a 5xx', async () => {
      await start();
      const response = await call('GET', '/fail/status');
      expect(response.status).toBe(502);
      await settlements.reach(1);
      expect(credits()).toBe(100);
    });

    it('releases the hold of a 4xx answer by default', async () => {
      await start();
      expect((await call('GET', '/fail/client')).status).toBe(422);
      await settlements.reach(1);
      expect(settlements.entries[0]).toMatchObject({ status: 422, outcome: 'released' });
      expect(credits()).toBe(100);
    });

    it('charges a 4xx answer when chargeClientErrors is on', async () => {
      await start({ chargeClientErrors: true });
      expect((await call('GET', '/fail/client')).status).toBe(422);
      await settlements.reach(1);
      expect(settlements.entries[0]).toMatchObject({ status: 422, outcome: 'settled' });
      expect(credits()).toBe(95);
    });

    it('releases the hold when the client disconnects before the response', async () => {
      await start();
      const started = new Promise<void>((resolve) => {
        handlerStarted = resolve;
      });
      const abort = new AbortController();
      const pending = request(`${app.url}/hang`, {
        headers: { 'tollgate-customer': 'cus_pro' },
        signal: abort.signal,
      });
      await started;
      expect(credits()).toBe(95);
      abort.abort();
      await expect(pending).rejects.toThrow();
      await settlements.reach(1);
      expect(settlements.entries[0]).toMatchObject({ outcome: 'released' });
      expect(credits()).toBe(100);
    });
  });

  describe('startup', () => {
    const boot = adapter.bootUnknownFeature;
    if (typeof boot === 'string') {
      it.skip(`fails on a route naming an unknown feature (skipped: ${boot})`, () => {});
    } else {
      it('fails at startup naming the handler when a route names an unknown feature', async () => {
        expect(await boot(harness.tollgate)).toMatchObject({
          code: 'TOLLGATE_ERR_UNKNOWN_FEATURE',
          message: `ReportsController.reports: @RequireFeature('no_such_feature') ${lacks}`,
        });
      });
    }
  });
});
