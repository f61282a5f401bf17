import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { admin, startChild, startControlPlane } from './processes/spawn.js';
import type { Child } from './processes/spawn.js';

const directory = mkdtempSync(join(tmpdir(), 'tollgate-leases-'));
const redisPrefix = `tollgate-test-${process.pid}-${Date.now()}`;
const children: Child[] = [];

afterAll(async () => {
  for (const child of children) await child.kill();
  const redis = new Redis('redis://127.0.0.1:6379');
  const keys = await redis.keys(`${redisPrefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  rmSync(directory, { recursive: true, force: true });
});

describe('leases across runtime processes', () => {
  it('allows exactly 1,000 of 1,000 credits to 4 runtimes on 2 control planes', async () => {
    const env = { TG_DATABASE: join(directory, 'tollgate.sqlite'), TG_REDIS_PREFIX: redisPrefix };
    const first = await startControlPlane(env);
    children.push(first);
    const second = await startControlPlane(env);
    children.push(second);

    // The free plan brings 100 promotional credits; a grant of 900 makes 1,000.
    await admin(first.url, 'POST', '/v1/customers', { id: 'shared' });
    await admin(first.url, 'POST', '/v1/customers/shared/subscriptions', { plan: 'free' });
    await admin(first.url, 'POST', '/v1/customers/shared/grants', {
      currency: 'ai_credits',
      amount: 900,
      category: 'paid',
      idempotency_key: 'grant-900',
    });

    const runtimes = [first, second, first, second].map((plane) =>
      startChild('./lease-runtime.mjs', { TG_URL: plane.url, TG_CUSTOMER: 'shared' }),
    );
    children.push(...runtimes);
    const results = await Promise.all(runtimes.map((runtime) => runtime.line('{')));
    const allowed = results.map((line) => (JSON.parse(line) as { allowed: number }).allowed);

    expect(allowed.reduce((sum, count) => sum + count, 0)).toBe(1000);
    const balances = await admin(second.url, 'GET', '/v1/customers/shared/balances');
    expect(balances.balances).toEqual([
      expect.objectContaining({ currency: 'ai_credits', balance: 0 }),
    ]);
  });
});
