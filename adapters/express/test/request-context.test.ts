import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExpressTollgate, settlementChannelName } from '../src/index.js';
import type { SettlementMessage } from '../src/index.js';
import { startHarness } from '../../../packages/runtime/test/helpers/harness.js';
import type { Harness } from '../../../packages/runtime/test/helpers/harness.js';

describe('req.tollgate in a handler', () => {
  let harness: Harness;
  let server: Server | null;
  let baseUrl: string;
  let settlements: SettlementMessage[];
  const collect = (message: unknown): void => void settlements.push(message as SettlementMessage);

  beforeEach(async () => {
    harness = await startHarness();
    settlements = [];
    diagnosticsChannel.subscribe(settlementChannelName, collect);
    const gate = createExpressTollgate(harness.tollgate);
    const app = express();
    app.use(gate.middleware());
    app.get('/check', (req, res) => {
      const { allowed, reasonName, remaining } = req.tollgate!.check('chat_message', 30);
      res.json({ allowed, reasonName, remaining });
    });
    app.get('/reserve-settle', (req, res) => {
      const held = req.tollgate!.reserve('chat_message', 10);
      const settled = req.tollgate!.settle(4);
      res.json({ held: held.remaining, settled });
    });
    app.get('/reserve-denied', (req, res) => {
      const held = req.tollgate!.reserve('chat_message', 101);
      res.status(402).json({ reason: held.reasonName, settled: req.tollgate!.settle() });
    });
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

  it('checks a quantity for the request customer without recording it', async () => {
    expect(await get('/check')).toEqual({
      status: 200,
      body: { allowed: true, reasonName: 'allowed', remaining: 100 },
    });
    expect(credits()).toBe(100);
    await closeServer();
    expect(settlements).toEqual([]);
  });

  it('holds with reserve and charges what settle is given, publishing it once', async () => {
    expect(await get('/reserve-settle')).toEqual({
      status: 200,
      body: { held: 90, settled: { charged: 4, cost: 4, outcome: 'settled', shortfall: 0 } },
    });
    expect(credits()).toBe(96);
    await closeServer();
    // The response's end finds the hold already settled and publishes nothing more.
    expect(
      settlements.map(({ status, charged, outcome }) => ({ status, charged, outcome })),
    ).toEqual([{ status: 0, charged: 4, outcome: 'settled' }]);
    expect(settlements[0]).toMatchObject({ customer: 'cus_pro', feature: 'chat_message' });
    await harness.tollgate.flush();
    expect(harness.stub.total('cus_pro', 'chat_message')).toBe(4);
  });

  it('holds nothing when reserve is denied, so settle has nothing to settle', async () => {
    expect(await get('/reserve-denied')).toEqual({
      status: 402,
      body: { reason: 'insufficient_credits', settled: null },
    });
    expect(credits()).toBe(100);
    await closeServer();
    expect(settlements).toEqual([]);
  });
});
