import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './harness.js';
import type { StoreKind } from './ledger-fixtures.js';
import {
  balanceOf,
  customerWith,
  debit,
  ledgerOf,
  startLedgerHarness,
  sumOf,
} from './ledger-fixtures.js';

/** The exact-number cases, run once per store. */
export function ledgerCasesSuite(kind: StoreKind): void {
  describe(`ledger cases (${kind})`, () => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await startLedgerHarness(kind, '2026-07-01T00:00:00Z');
    });
    afterAll(() => harness.close());

    it('splits a debit of 60 across grants in burn order: B 20, then A 40', async () => {
      harness.clock.set('2026-07-01T00:00:00Z');
      await customerWith(harness, 'burn');
      const grant = (key: string, body: Record<string, unknown>) =>
        harness.call('POST', '/v1/customers/burn/grants', {
          currency: 'credits',
          idempotency_key: key,
          ...body,
        });
      const september = '2026-09-01T00:00:00Z';
      const a = await grant('A', {
        priority: 1,
        expires_at: september,
        category: 'paid',
        amount: 50,
      });
      const b = await grant('B', {
        priority: 1,
        expires_at: september,
        category: 'promotional',
        amount: 20,
      });
      const c = await grant('C', {
        priority: 2,
        expires_at: '2026-08-15T00:00:00Z',
        category: 'promotional',
        amount: 100,
      });
      harness.clock.set('2026-08-01T00:00:00Z');
      const reply = await debit(harness, 'burn', { amount: 60, idempotency_key: 'd60' });
      expect(reply.status).toBe(201);
      expect(reply.body.lines).toEqual([
        { grant_id: b.body.id, amount: 20 },
        { grant_id: a.body.id, amount: 40 },
      ]);
      const remaining = Object.fromEntries(
        (await balanceOf(harness, 'burn', 'credits')).grants.map((g) => [g.id, g.remaining]),
      );
      expect(remaining).toEqual({ [a.body.id]: 10, [b.body.id]: 0, [c.body.id]: 100 });
      const debits = (await ledgerOf(harness, 'burn')).filter((entry) => entry.kind === 'debit');
      expect(debits.map((entry) => [entry.grant_id, entry.amount])).toEqual([
        [b.body.id, -20],
        [a.body.id, -40],
      ]);
    });

    it('hard limit at 10: debit 3 allowed (7), 8 denied (7), 5 allowed (2)', async () => {
      await customerWith(harness, 'hard', { amount: 10 });
      const first = await debit(harness, 'hard', { amount: 3, idempotency_key: 'h1' });
      expect([first.status, first.body.balance]).toEqual([201, 7]);
      const entriesBefore = await ledgerOf(harness, 'hard');
      const denied = await debit(harness, 'hard', { amount: 8, idempotency_key: 'h2' });
      expect(denied.status).toBe(402);
      expect(denied.body).toMatchObject({
        code: 'TOLLGATE_ERR_INSUFFICIENT_CREDITS',
        field: 'amount',
      });
      expect((await balanceOf(harness, 'hard', 'credits')).balance).toBe(7);
      expect(await ledgerOf(harness, 'hard')).toEqual(entriesBefore);
      const last = await debit(harness, 'hard', { amount: 5, idempotency_key: 'h3' });
      expect([last.status, last.body.balance]).toEqual([201, 2]);
    });

    it('soft limit: 10 left, debit 25 → −15; a grant of 100 pays the debt → 85', async () => {
      await customerWith(harness, 'soft', { currency: 'soft_credits', amount: 10 });
      const reply = await debit(harness, 'soft', {
        currency: 'soft_credits',
        amount: 25,
        idempotency_key: 's1',
      });
      expect(reply.body).toMatchObject({ balance: -15, debited: 25, overage: 15 });
      const topUp = await harness.call('POST', '/v1/customers/soft/grants', {
        currency: 'soft_credits',
        amount: 100,
        category: 'paid',
        idempotency_key: 's2',
      });
      expect(topUp.body.remaining).toBe(85);
      expect((await balanceOf(harness, 'soft', 'soft_credits')).balance).toBe(85);
      expect(sumOf(await ledgerOf(harness, 'soft'), 'soft_credits')).toBe(85);
    });

    it('soft limit with an overage cap of 50: −50 allowed, one more denied', async () => {
      await customerWith(harness, 'capped', { currency: 'capped_credits', amount: 10 });
      const body = { currency: 'capped_credits' };
      const deep = await debit(harness, 'capped', { ...body, amount: 60, idempotency_key: 'c1' });
      expect(deep.body).toMatchObject({ balance: -50, overage: 50 });
      const over = await debit(harness, 'capped', { ...body, amount: 1, idempotency_key: 'c2' });
      expect(over.status).toBe(402);
      expect((await balanceOf(harness, 'capped', 'capped_credits')).balance).toBe(-50);
    });

    it('a top-up of 100 sent twice with one key on 10 promotional credits → 110', async () => {
      await customerWith(harness, 'topup', { amount: 10, category: 'promotional' });
      const body = { currency: 'credits', amount: 100, category: 'paid', idempotency_key: 'top' };
      const first = await harness.call('POST', '/v1/customers/topup/grants', body);
      const second = await harness.call('POST', '/v1/customers/topup/grants', body);
      expect([first.status, second.status]).toEqual([201, 201]);
      expect(second.body).toEqual(first.body);
      expect((await balanceOf(harness, 'topup', 'credits')).balance).toBe(110);
      const grants = (await ledgerOf(harness, 'topup')).filter((entry) => entry.kind === 'grant');
      expect(grants.map((entry) => entry.amount)).toEqual([10, 100]);
    });

    it('key K: 95, replay 95 with one entry, K with 50 refused (95), K2 with 50 → 45', async () => {
      await customerWith(harness, 'keys', { amount: 100 });
      const k = await debit(harness, 'keys', { amount: 5, idempotency_key: 'K' });
      expect(k.body.balance).toBe(95);
      const replay = await debit(harness, 'keys', { amount: 5, idempotency_key: 'K' });
      expect(replay.body).toEqual(k.body);
      const withK = (await ledgerOf(harness, 'keys')).filter((e) => e.idempotency_key === 'K');
      expect(withK).toHaveLength(1);
      const reused = await debit(harness, 'keys', { amount: 50, idempotency_key: 'K' });
      expect(reused.status).toBe(422);
      expect(reused.body.code).toBe('TOLLGATE_ERR_IDEMPOTENCY_MISMATCH');
      expect((await balanceOf(harness, 'keys', 'credits')).balance).toBe(95);
      const k2 = await debit(harness, 'keys', { amount: 50, idempotency_key: 'K2' });
      expect(k2.body.balance).toBe(45);

      await customerWith(harness, 'keys-other', { amount: 100 });
      const other = await debit(harness, 'keys-other', { amount: 5, idempotency_key: 'K' });
      expect([other.status, other.body.balance]).toEqual([201, 95]);
    });

    it('1 credit = 1,000,000 micro: ten debits of 100,000 leave 0, an 11th is denied', async () => {
      await customerWith(harness, 'micro', { currency: 'micro_credits', amount: 1_000_000 });
      const body = { currency: 'micro_credits', amount: 100_000 };
      // `display_scale: 6` shows the balance in whole credits; `credits` has scale 0.
      const shown = async () => {
        const read = await harness.call('GET', '/v1/customers/micro/balances');
        return read.body.balances
          .filter((entry: any) => ['micro_credits', 'credits'].includes(entry.currency))
          .map((entry: any) => [entry.currency, entry.balance, entry.display]);
      };
      expect(await shown()).toEqual([
        ['credits', 0, '0'],
        ['micro_credits', 1_000_000, '1.000000'],
      ]);
      for (let index = 0; index < 10; index += 1) {
        const reply = await debit(harness, 'micro', { ...body, idempotency_key: `m${index}` });
        expect(reply.status).toBe(201);
        if (index === 4) expect((await shown())[1]).toEqual(['micro_credits', 500_000, '0.500000']);
      }
      expect((await balanceOf(harness, 'micro', 'micro_credits')).balance).toBe(0);
      const eleventh = await debit(harness, 'micro', { ...body, idempotency_key: 'm10' });
      expect(eleventh.status).toBe(402);
      expect((await balanceOf(harness, 'micro', 'micro_credits')).balance).toBe(0);
    });

    it('allows a debit of cost 0 at a zero balance and writes nothing', async () => {
      await customerWith(harness, 'zero');
      const reply = await debit(harness, 'zero', { amount: 0, idempotency_key: 'z' });
      expect(reply.status).toBe(201);
      expect(reply.body).toMatchObject({ id: null, debited: 0, balance: 0, lines: [] });
      expect(await ledgerOf(harness, 'zero')).toEqual([]);
    });

    it('records the actor and the external reference on every entry', async () => {
      await customerWith(harness, 'prov', { amount: 10, reference: 'INV-2026/07-001' });
      await debit(harness, 'prov', { amount: 4, idempotency_key: 'p', reference: 'req-42' });
      const entries = await ledgerOf(harness, 'prov');
      expect(entries.map((entry) => [entry.kind, entry.reference])).toEqual([
        ['grant', 'INV-2026/07-001'],
        ['debit', 'req-42'],
      ]);
      expect(entries.every((entry) => /^key_[0-9a-f]{12}$/.test(entry.actor))).toBe(true);
    });
  });
}
