import diagnosticsChannel from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelNames, createTollgate } from '@tollgate/runtime';
import type { Tollgate, TollgateOptions } from '@tollgate/runtime';
import { admin, startControlPlane } from './processes/spawn.js';
import type { Child } from './processes/spawn.js';

// Lease and strict mode through the synchronous calls, against one control-plane process
// whose lease book lives in Redis. Every customer starts on the free plan: 100 ai_credits
// (hard) and 50,000 api_tokens a month (hard).
const directory = mkdtempSync(join(tmpdir(), 'tollgate-modes-'));
const redisPrefix = `tollgate-modes-${process.pid}-${Date.now()}`;
let plane: Child & { url: string };
const runtimes: Tollgate[] = [];

beforeAll(async () => {
  plane = await startControlPlane({
    TG_DATABASE: join(directory, 'tollgate.sqlite'),
    TG_REDIS_PREFIX: redisPrefix,
  });
});

afterAll(async () => {
  for (const tollgate of runtimes) await tollgate.close().catch(() => undefined);
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

async function runtime(options: Partial<TollgateOptions>): Promise<Tollgate> {
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

/** Resolves with the next lease granted to `customer`. */
function nextGrant(customer: string): Promise<unknown> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if ((message as { customer?: string }).customer !== customer) return;
      diagnosticsChannel.unsubscribe(channelNames.leaseGranted, onMessage);
      resolve(message);
    };
    diagnosticsChannel.subscribe(channelNames.leaseGranted, onMessage);
  });
}

/**
 * Consumes `quantity` synchronously on every runtime in turn, yielding between rounds so
 * that background grants land, until a whole round of `rounds` is denied on all of them.
 */
async function drain(
  tollgates: Tollgate[],
  customer: string,
  feature: string,
  quantity: number,
): Promise<number> {
  let allowed = 0;
  let deniedRounds = 0;
  for (let round = 0; round < 5000 && deniedRounds < 50; round++) {
    let any = false;
    for (const tollgate of tollgates) {
      if (tollgate.consume(customer, feature, quantity).allowed) {
        allowed += 1;
        any = true;
      }
    }
    deniedRounds = any ? 0 : deniedRounds + 1;
    await sleep(any ? 0 : 5);
  }
  return allowed;
}

describe('strict mode against a control-plane process', () => {
  it('refuses synchronous consume and reserve of a strict feature, changing nothing', async () => {
    await customerOnFree('sharp');
    const tollgate = await runtime({ features: { 'image.generate': { mode: 'strict' } } });
    const coded = expect.objectContaining({
      code: 'TOLLGATE_ERR_STRICT_ASYNC_ONLY',
      field: 'feature',
    });
    expect(() => tollgate.consume('sharp', 'image.generate')).toThrow(coded);
    expect(() => tollgate.reserve('sharp', 'image.generate', 1)).toThrow(coded);
    expect(tollgate.check('sharp', 'image.generate', 5).remaining).toBe(100);
    await tollgate.flush();
    expect(await balance('sharp')).toBe(100);
  });

  it('makes every consumeAsync one atomic call: the balance moves with each', async () => {
    await customerOnFree('atomic');
    const tollgate = await runtime({ features: { 'image.generate': { mode: 'strict' } } });
    const seen: Array<[string, number | null, number]> = [];
    for (let call = 0; call < 6; call++) {
      const decision = await tollgate.consumeAsync('atomic', 'image.generate', 1);
      // No flush: the control plane debited within the call.
      seen.push([decision.reasonName, decision.remaining, await balance('atomic')]);
    }
    expect(seen).toEqual([
      ['allowed', 80, 80],
      ['allowed', 60, 60],
      ['allowed', 40, 40],
      ['allowed', 20, 20],
      ['allowed', 0, 0],
      ['insufficient_credits', 0, 0],
    ]);
  });
});

describe('lease mode through the synchronous calls', () => {
  it('allows exactly 100 of 100 credits to two runtimes consuming synchronously', async () => {
    await customerOnFree('shared');
    const options = { features: { 'chat.fast': { mode: 'lease' as const } } };
    const pair = [
      await runtime({ ...options, lease: { sliceSize: 30 } }),
      await runtime({ ...options, lease: { sliceSize: 30 } }),
    ];
    // No slice is held yet: the first call is denied and starts a grant.
    const first = pair[0]!.consume('shared', 'chat.fast');
    expect([first.allowed, first.reasonName, first.remaining]).toEqual([
      false,
      'insufficient_credits',
      100,
    ]);
    expect(await drain(pair, 'shared', 'chat.fast', 1)).toBe(100);
    for (const tollgate of pair) await tollgate.flush();
    expect(await balance('shared')).toBe(0);
  });

  it('reserves within a lease and gives back to it what the settle did not charge', async () => {
    await customerOnFree('holder');
    const tollgate = await runtime({
      features: { 'chat.fast': { mode: 'lease' } },
      lease: { sliceSize: 50 },
    });
    const granted = nextGrant('holder');
    expect(tollgate.reserve('holder', 'chat.fast', 10).decision.reasonName).toBe(
      'insufficient_credits',
    );
    await granted;
    const { decision, reservation } = tollgate.reserve('holder', 'chat.fast', 10);
    expect([decision.reasonName, decision.limit, decision.remaining]).toEqual([
      'allowed',
      null,
      90,
    ]);
    expect(tollgate.settle(reservation!, 4)).toMatchObject({ charged: 4, shortfall: 0 });
    const released = tollgate.reserve('holder', 'chat.fast', 20).reservation!;
    expect(tollgate.release(released)).toBe('released');
    await tollgate.close();
    expect(await balance('holder')).toBe(96);

    // The lease went back with 4 used: all 96 left are free for a new one at once.
    const response = await fetch(`${plane.url}/v1/leases`, {
      method: 'POST',
      headers: { authorization: 'Bearer tg_runtime_process', 'content-type': 'application/json' },
      body: JSON.stringify({ customer: 'holder', feature: 'chat.fast', requested: 100 }),
    });
    expect(await response.json()).toMatchObject({ granted: 96, free: 0 });
  });

  it('leases one period of a hard metered limit: 50,000 tokens to two runtimes', async () => {
    await customerOnFree('tokens');
    const options = {
      features: { api_tokens: { mode: 'lease' as const } },
      lease: { sliceSize: 20_000 },
    };
    const pair = [await runtime(options), await runtime(options)];
    expect(await drain(pair, 'tokens', 'api_tokens', 5_000)).toBe(10);
    for (const tollgate of pair) await tollgate.flush();
    const usage = await admin(plane.url, 'GET', '/v1/customers/tokens/usage?feature=api_tokens');
    expect([usage.used, usage.limit]).toEqual([50_000, 50_000]);

    // The pool is named by the period's end, so the next period starts a new one.
    const redis = new Redis('redis://127.0.0.1:6379');
    const keys = await redis.keys(`${redisPrefix}:*tokens:metered*`);
    await redis.quit();
    const periodEndMs = Date.parse(usage.period_end);
    expect(keys.some((key) => key.includes(`tokens:metered:api_tokens:${periodEndMs}`))).toBe(true);
  });
});
