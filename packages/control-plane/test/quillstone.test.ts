import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, startHarness } from './harness.js';
import type { Harness } from './harness.js';

const march3Ms = Date.parse('2026-03-03T10:00:00Z');

function creditsOf(reply: { body: any }) {
  const currency = reply.body.balances.find((entry: any) => entry.currency === 'ai_credits');
  return currency as { balance: number; grants: any[] };
}

describe('control plane: the Quillstone timeline', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness('2026-03-01T00:00:00Z');
  });
  afterAll(() => harness.close());

  it('pins acme to pro v1 with 2,000 paid credits expiring 2026-04-01 (step 1)', async () => {
    expect((await harness.call('POST', '/v1/customers', { id: 'acme' })).status).toBe(201);
    const subscribed = await harness.call('POST', '/v1/customers/acme/subscriptions', {
      plan: 'pro',
    });
    expect(subscribed.status).toBe(201);
    expect(subscribed.body).toMatchObject({ plan: 'pro', version: 1, quantity: 1 });

    const credits = creditsOf(await harness.call('GET', '/v1/customers/acme/balances'));
    expect(credits.balance).toBe(2_000);
    expect(credits.grants).toEqual([
      {
        id: expect.any(Number),
        category: 'paid',
        amount: 2_000,
        remaining: 2_000,
        expires_at: '2026-04-01T00:00:00.000Z',
        priority: 0,
      },
    ]);
  });

  it('gives bolt pro v2 and 2,500 credits once v2 is published (step 2)', async () => {
    harness.clock.set('2026-03-01T12:00:00Z');
    await harness.call('POST', '/v1/customers', { id: 'bolt' });
    const subscribed = await harness.call('POST', '/v1/customers/bolt/subscriptions', {
      plan: 'pro',
    });
    expect(subscribed.body.version).toBe(2);
    expect(creditsOf(await harness.call('GET', '/v1/customers/bolt/balances')).balance).toBe(2_500);
  });

  it('adds 500 promotional credits to acme for a balance of 2,500 (step 4)', async () => {
    harness.clock.set('2026-03-02T00:00:00Z');
    const granted = await harness.call('POST', '/v1/customers/acme/grants', {
      currency: 'ai_credits',
      amount: 500,
      category: 'promotional',
      expires_at: '2026-03-31T00:00:00Z',
      idempotency_key: 'promo-march',
    });
    expect(granted.status).toBe(201);
    expect(creditsOf(await harness.call('GET', '/v1/customers/acme/balances')).balance).toBe(2_500);
  });

  it('draws 100 chat.smart requests from the promotional grant first (step 5)', async () => {
    harness.clock.set(march3Ms);
    const reply = await harness.postUsage(events('smart', 'acme', 'chat.smart', 100, march3Ms));
    expect(reply.body).toMatchObject({ accepted: 100, duplicates: 0 });

    const credits = creditsOf(await harness.call('GET', '/v1/customers/acme/balances'));
    expect(credits.balance).toBe(2_000);
    const remaining = Object.fromEntries(credits.grants.map((g: any) => [g.category, g.remaining]));
    expect(remaining).toEqual({ promotional: 0, paid: 2_000 });
  });

  it('grants the 1,000-credit pack, expiring 2027-03-03: balance 3,000 (step 6)', async () => {
    const bought = await harness.call('POST', '/v1/customers/acme/addons', {
      addon: 'credit_pack_1000',
      idempotency_key: 'pack-1',
    });
    expect(bought.status).toBe(201);
    expect(bought.body.grant).toMatchObject({
      amount: 1_000,
      expires_at: '2027-03-03T10:00:00.000Z',
    });
    expect(creditsOf(await harness.call('GET', '/v1/customers/acme/balances')).balance).toBe(3_000);
  });

  it('draws 60 images from the monthly grant, which expires first (step 7)', async () => {
    const timeMs = Date.parse('2026-03-04T09:00:00Z');
    harness.clock.set(timeMs);
    await harness.postUsage(events('image', 'acme', 'image.generate', 60, timeMs));

    const credits = creditsOf(await harness.call('GET', '/v1/customers/acme/balances'));
    expect(credits.balance).toBe(1_800);
    const paid = credits.grants.filter((grant: any) => grant.category === 'paid');
    expect(paid.map((grant: any) => [grant.amount, grant.remaining])).toEqual([
      [2_000, 800],
      [1_000, 1_000],
    ]);
  });

  it('records 2,500,000 api_tokens for bolt with an overage of 500,000 (step 11)', async () => {
    const timeMs = Date.parse('2026-03-04T08:00:00Z');
    const batch = [
      {
        key: 'tokens-1',
        customer: 'bolt',
        feature: 'api_tokens',
        quantity: 2_500_000,
        time: timeMs,
      },
    ];
    expect((await harness.postUsage(batch)).body).toMatchObject({ accepted: 1, duplicates: 0 });

    const usage = await harness.call('GET', '/v1/customers/bolt/usage?feature=api_tokens');
    expect(usage.body).toEqual({
      feature: 'api_tokens',
      period_start: '2026-03-01T12:00:00.000Z',
      period_end: '2026-04-01T12:00:00.000Z',
      used: 2_500_000,
      limit: 2_000_000,
      overage: 500_000,
    });
  });

  it('expires 800 and grants 2,000 at the 2026-04-01 rollover (step 8)', async () => {
    harness.clock.set('2026-04-01T00:00:00Z');
    const credits = creditsOf(await harness.call('GET', '/v1/customers/acme/balances'));
    expect(credits.balance).toBe(3_000);

    const ledger = await harness.call('GET', '/v1/customers/acme/ledger?limit=1000');
    const expiries = ledger.body.entries.filter((entry: any) => entry.kind === 'expiry');
    expect(expiries).toEqual([
      expect.objectContaining({ amount: -800, at: '2026-04-01T00:00:00.000Z', actor: 'job' }),
    ]);
    const lastGrant = ledger.body.entries.filter((entry: any) => entry.kind === 'grant').at(-1);
    expect(lastGrant).toMatchObject({ amount: 2_000, at: '2026-04-01T00:00:00.000Z' });
  });

  it('debits a usage event reported twice with key evt-1 only once (step 15)', async () => {
    const before = creditsOf(await harness.call('GET', '/v1/customers/acme/balances')).balance;
    // Within the accepted window: the control plane refuses times more than a day old.
    const time = harness.clock.now();
    const event = { key: 'evt-1', customer: 'acme', feature: 'chat.smart', quantity: 1, time };
    expect((await harness.postUsage([event])).body).toMatchObject({ accepted: 1, duplicates: 0 });
    expect((await harness.postUsage([event])).body).toMatchObject({ accepted: 0, duplicates: 1 });
    const after = creditsOf(await harness.call('GET', '/v1/customers/acme/balances')).balance;
    expect(before - after).toBe(5);
  });
});
