import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SettlementMessage } from '@tollgate/runtime';
import { createKoaTollgate, settlementChannelName } from '../src/index.js';
import { startHarness } from '../../../packages/runtime/test/helpers/harness.js';
import type { Harness } from '../../../packages/runtime/test/helpers/harness.js';

describe('ctx.state.tollgate', () => {
  let harness: Harness;
  let server: Server | null;
  let baseUrl: string;
  let settlements: SettlementMessage[];
  const collect = (message: unknown): void => void settlements.push(message as SettlementMessage);

  beforeEach(async () => {
    harness = await startHarness();
    settlements = [];
    diagnosticsChannel.subscribe(settlementChannelName, collect);
    const gate = createKoaTollgate(harness.tollgate);
    const app = new Koa();
    const router = new Router();
    router.get('/guarded', gate.requireFeature('chat_message', { quantity: 6 }), (ctx) => {
      const tollgate = ctx.state.tollgate!;
      ctx.body = {
        sameRuntime: tollgate.runtime === harness.tollgate,
        customer: tollgate.customer,
        remaining: tollgate.decision!.remaining,
        held: tollgate.reservation!.quantity,
      };
    });
    router.get('/check', gate.middleware(), (ctx) => {
      const { allowed, reasonName, remaining } = ctx.state.tollgate!.check('chat_message', 30);
      ctx.body = { allowed, reasonName, remaining };
    });
    router.get('/reserve-settle', gate.middleware(), (ctx) => {
      const held = ctx.state.tollgate!.reserve('chat_message', 10);
      const settled = ctx.state.tollgate!.settle(4);
      ctx.body = { held: held.remaining, settled };
    });
    router.get('/reserve-release', gate.middleware(), (ctx) => {
      const held = ctx.state.tollgate!.reserve('chat_message', 10);
      ctx.state.tollgate!.release();
      ctx.body = { held: held.remaining };
    });
    app.use(router.routes());
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  /** Closes the server, which waits for every response's end: nothing is pending after. */
  async function closeServer(): Promise<void> {
    if (server === null) return;
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
    server = null;
  }

  afterEach(async () => {
    diagnosticsChannel.unsubscribe(settlementChannelName, collect);
    await closeServer();
    await harness.stop();
  });

  async function get(path: string): Promise<{ status: number; body: unknown }> {
    const response = await request(baseUrl + path, {
      headers: { 'tollgate-customer': 'cus_pro' },
    });
    return { status: response.statusCode, body: await response.body.json() };
  }

  const credits = (): number | null =>
    harness.tollgate.check('cus_pro', 'chat_message', 0).remaining;
  const outcomes = () =>
    settlements.map(({ status, charged, outcome }) => ({ status, charged, outcome }));

  it("hands downstream the runtime, the guard's decision and its hold", async () => {
    expect(await get('/guarded')).toEqual({
      status: 200,
      body: { sameRuntime: true, customer: 'cus_pro', remaining: 94, held: 6 },
    });
    await closeServer();
    expect(outcomes()).toEqual([{ status: 200, charged: 6, outcome: 'settled' }]);
    expect(credits()).toBe(94);
  });

  it('checks a quantity for the request customer without recording it', async () => {
    expect(await get('/check')).toEqual({
      status: 200,
      body: { allowed: true, reasonName: 'allowed', remaining: 100 },
    });
    await closeServer();
    expect(settlements).toEqual([]);
    expect(credits()).toBe(100);
  });

  it('holds with reserve and charges what settle is given, publishing it once', async () => {
    expect(await get('/reserve-settle')).toEqual({
      status: 200,
      body: { held: 90, settled: { charged: 4, cost: 4, outcome: 'settled', shortfall: 0 } },
    });
    await closeServer();
    expect(outcomes()).toEqual([{ status: 0, charged: 4, outcome: 'settled' }]);
    expect(credits()).toBe(96);
    await harness.tollgate.flush();
    expect(harness.stub.total('cus_pro', 'chat_message')).toBe(4);
  });

  it('gives a hold back with release, charging nothing', async () => {
    expect(await get('/reserve-release')).toEqual({ status: 200, body: { held: 90 } });
    await closeServer();
    expect(outcomes()).toEqual([{ status: 0, charged: 0, outcome: 'released' }]);
    expect(credits()).toBe(100);
  });
});
