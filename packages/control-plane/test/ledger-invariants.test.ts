import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, startHarness } from './harness.js';
import type { Harness } from './harness.js';

describe('control plane: ledger invariants', () => {
  let harness: Harness;

  async function entries(customer: string): Promise<any[]> {
    const collected: any[] = [];
    let after = 0;
    for (;;) {
      const page = await harness.call(
        'GET',
        `/v1/customers/${customer}/ledger?limit=7&after=${after}`,
      );
      collected.push(...page.body.entries);
      if (page.body.next_after === null) return collected;
      after = page.body.next_after;
    }
  }

  beforeAll(async () => {
    harness = await startHarness('2026-01-15T00:00:00Z');
    await harness.call('POST', '/v1/customers', { id: 'acme' });
    await harness.call('POST', '/v1/customers/acme/subscriptions', { plan: 'pro', version: 1 });
    await harness.call('POST', '/v1/customers/acme/grants', {
      currency: 'ai_credits',
      amount: 300,
      category: 'promotional',
      expires_at: '2026-02-01T00:00:00Z',
      idempotency_key: 'promo',
    });
    const timeMs = Date.parse('2026-01-20T00:00:00Z');
    harness.clock.set(timeMs);
    await harness.postUsage(events('smart', 'acme', 'chat.smart', 30, timeMs));
    await harness.postUsage(events('image', 'acme', 'image.generate', 40, timeMs));
    // Three periods pass without a request: the rollover must catch up on all of them.
    harness.clock.set('2026-04-20T00:00:00Z');
  });
  afterAll(() => harness.close());

  it('balance equals the sum of its entries', async () => {
    const balances = await harness.call('GET', '/v1/customers/acme/balances');
    const ledger = await entries('acme');
    const sum = ledger.reduce((total, entry) => total + entry.amount, 0);
    expect(balances.body.balances[0].balance).toBe(sum);
    expect(sum).toBe(2_000);
  });

  it('grants each missed period exactly once and expires each at its end', async () => {
    const ledger = await entries('acme');
    const grants = ledger.filter((entry) => entry.kind === 'grant').map((entry) => entry.at);
    expect(grants).toEqual([
      '2026-01-15T00:00:00.000Z',
      '2026-01-15T00:00:00.000Z',
      '2026-02-15T00:00:00.000Z',
      '2026-03-15T00:00:00.000Z',
      '2026-04-15T00:00:00.000Z',
    ]);
    const expiries = ledger.filter((entry) => entry.kind === 'expiry');
    expect(expiries.map((entry) => [entry.at, entry.amount])).toEqual([
      ['2026-02-15T00:00:00.000Z', -1_350],
      ['2026-03-15T00:00:00.000Z', -2_000],
      ['2026-04-15T00:00:00.000Z', -2_000],
    ]);
  });

  it('writes one debit entry per grant a debit touches', async () => {
    const debits = (await entries('acme')).filter((entry) => entry.kind === 'debit');
    // 950 in all: the 300 promotional credits first, then 650 from the monthly grant.
    expect(debits.reduce((total, entry) => total + entry.amount, 0)).toBe(-950);
    const byGrant = new Map<number, number>();
    for (const entry of debits) {
      byGrant.set(entry.grant_id, (byGrant.get(entry.grant_id) ?? 0) + entry.amount);
    }
    expect([...byGrant.values()].sort((left, right) => left - right)).toEqual([-650, -300]);
    expect(debits.every((entry) => entry.actor === 'runtime')).toBe(true);
  });

  it('replays a grant request with the same idempotency key without granting twice', async () => {
    const body = {
      currency: 'ai_credits',
      amount: 10,
      category: 'paid',
      idempotency_key: 'once',
    };
    const first = await harness.call('POST', '/v1/customers/acme/grants', body);
    const second = await harness.call('POST', '/v1/customers/acme/grants', body);
    expect(second.body).toEqual(first.body);
    const conflicting = await harness.call('POST', '/v1/customers/acme/grants', {
      ...body,
      amount: 11,
    });
    expect(conflicting.status).toBe(422);
    const balances = await harness.call('GET', '/v1/customers/acme/balances');
    expect(balances.body.balances[0].balance).toBe(2_010);
  });
});
