import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerHarness, StoreKind } from './ledger-fixtures.js';
import { balanceOf, customerWith, debit, ledgerOf, startLedgerHarness } from './ledger-fixtures.js';
import { rawSql } from './raw-sql.js';

/** What the store recorded in `schema_migrations`, read past the store's interface. */
async function appliedMigrations(harness: LedgerHarness): Promise<number[]> {
  const rows = await rawSql(harness, 'SELECT version FROM schema_migrations');
  return rows.map((row) => Number(row['version'])).sort((a, b) => a - b);
}

/** Grants as the catalog and the API shape them: burn order, cost basis, pages, schema. */
export function ledgerGrantsSuite(kind: StoreKind): void {
  describe(`ledger grants (${kind})`, () => {
    let harness: LedgerHarness;
    beforeAll(async () => {
      harness = await startLedgerHarness(kind, '2026-07-01T00:00:00Z');
    });
    afterAll(() => harness.close());

    const grant = (customer: string, key: string, body: Record<string, unknown>) =>
      harness.call('POST', `/v1/customers/${customer}/grants`, { idempotency_key: key, ...body });

    it("burns in the currency's catalog order: soonest expiry first, Q 30 then P 15", async () => {
      await customerWith(harness, 'order');
      const currency = 'expiring_credits';
      // Under the default order R (priority 0) would burn first; this currency ignores it.
      const p = await grant('order', 'P', {
        currency,
        priority: 1,
        category: 'paid',
        amount: 30,
        expires_at: '2026-09-01T00:00:00Z',
      });
      const q = await grant('order', 'Q', {
        currency,
        priority: 2,
        category: 'promotional',
        amount: 30,
        expires_at: '2026-08-15T00:00:00Z',
      });
      const r = await grant('order', 'R', { currency, priority: 0, category: 'paid', amount: 30 });
      const reply = await debit(harness, 'order', { currency, amount: 45, idempotency_key: 'd' });
      expect([reply.status, reply.body.balance]).toEqual([201, 45]);
      expect(reply.body.lines).toEqual([
        { grant_id: q.body.id, amount: 30 },
        { grant_id: p.body.id, amount: 15 },
      ]);
      expect(r.body.remaining).toBe(30);
    });

    it('keeps a paid grant’s cost basis (1,999 EUR cents); a promotional one costs 0', async () => {
      await customerWith(harness, 'basis');
      const paid = await grant('basis', 'paid', {
        currency: 'credits',
        category: 'paid',
        amount: 500,
        cost_basis: 1_999,
        cost_basis_currency: 'EUR',
      });
      expect(paid.status).toBe(201);
      const promotional = await grant('basis', 'promo', {
        currency: 'credits',
        category: 'promotional',
        amount: 50,
        cost_basis: 5,
      });
      expect([promotional.status, promotional.body.code, promotional.body.field]).toEqual([
        400,
        'TOLLGATE_ERR_VALIDATION',
        'cost_basis',
      ]);
      const listed = await harness.call('GET', '/v1/customers/basis/grants');
      expect(listed.body.grants).toEqual([
        expect.objectContaining({ amount: 500, cost_basis: 1_999, cost_basis_currency: 'EUR' }),
      ]);
      expect((await ledgerOf(harness, 'basis')).map((entry) => entry.amount)).toEqual([500]);
    });

    it('pages grants 2 at a time: 5 grants in pages of 2, 2 and 1', async () => {
      await customerWith(harness, 'pages');
      for (let index = 0; index < 5; index += 1) {
        await grant('pages', `g${index}`, { currency: 'credits', category: 'paid', amount: 1 });
      }
      const sizes: number[] = [];
      let after: number | null = 0;
      for (let page = 0; page < 10 && after !== null; page += 1) {
        const reply = await harness.call(
          'GET',
          `/v1/customers/pages/grants?limit=2&after=${after}`,
        );
        sizes.push(reply.body.grants.length);
        after = reply.body.next_after;
      }
      expect(sizes).toEqual([2, 2, 1]);
      const bad = await harness.call('GET', '/v1/customers/pages/grants?limit=0');
      expect([bad.status, bad.body.field]).toEqual([400, 'limit']);
    });

    it('keeps a grant effective later out of spending and the balance until then', async () => {
      harness.clock.set('2026-07-01T00:00:00Z');
      await customerWith(harness, 'later');
      const future = await grant('later', 'f1', {
        currency: 'credits',
        category: 'paid',
        amount: 40,
        effective_at: '2026-07-10T00:00:00Z',
        expires_at: '2026-07-20T00:00:00Z',
      });
      expect(future.status).toBe(201);
      expect(future.body).toMatchObject({
        amount: 40,
        remaining: 0,
        effective_at: '2026-07-10T00:00:00.000Z',
      });
      const early = await debit(harness, 'later', { amount: 5, idempotency_key: 'd1' });
      expect(early.status).toBe(402);
      expect((await balanceOf(harness, 'later', 'credits')).balance).toBe(0);
      expect(await ledgerOf(harness, 'later')).toEqual([]);
      const listed = (await harness.call('GET', '/v1/customers/later/grants')).body.grants;
      expect(listed.map((row: any) => [row.status, row.remaining])).toEqual([['scheduled', 0]]);

      // Counted from its instant: the entry is dated then, and debits may draw from it.
      harness.clock.set('2026-07-10T00:00:00Z');
      expect((await balanceOf(harness, 'later', 'credits')).balance).toBe(40);
      const spent = await debit(harness, 'later', { amount: 5, idempotency_key: 'd2' });
      expect([spent.status, spent.body.balance]).toEqual([201, 35]);
      harness.clock.set('2026-07-25T00:00:00Z');
      const entries = await ledgerOf(harness, 'later');
      expect(entries.map((entry) => [entry.kind, entry.amount, entry.at])).toEqual([
        ['grant', 40, '2026-07-10T00:00:00.000Z'],
        ['debit', -5, '2026-07-10T00:00:00.000Z'],
        ['expiry', -35, '2026-07-20T00:00:00.000Z'],
      ]);
    });

    it('refuses a past effective time or an expiry not after it; writes nothing', async () => {
      harness.clock.set('2026-08-01T00:00:00Z');
      await customerWith(harness, 'backdated', { amount: 10 });
      const before = await ledgerOf(harness, 'backdated');
      const base = { currency: 'credits', category: 'paid', amount: 5 };
      const past = await grant('backdated', 'p1', {
        ...base,
        effective_at: '2026-07-31T23:59:59Z',
      });
      expect([past.status, past.body.field]).toEqual([400, 'effective_at']);
      const inverted = await grant('backdated', 'p2', {
        ...base,
        effective_at: '2026-08-10T00:00:00Z',
        expires_at: '2026-08-10T00:00:00Z',
      });
      expect([inverted.status, inverted.body.field]).toEqual([400, 'expires_at']);
      expect(await ledgerOf(harness, 'backdated')).toEqual(before);
      const grants = (await harness.call('GET', '/v1/customers/backdated/grants')).body.grants;
      expect(grants).toHaveLength(1);
    });

    it('records versioned migrations 1 and 100 to 103 on start', async () => {
      const versions = await appliedMigrations(harness);
      expect(versions.filter((version) => version < 200)).toEqual([1, 100, 101, 102, 103]);
    });
  });
}
