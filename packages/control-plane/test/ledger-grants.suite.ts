import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerHarness, StoreKind } from './ledger-fixtures.js';
import { customerWith, debit, ledgerOf, startLedgerHarness } from './ledger-fixtures.js';

/** What the store recorded in `schema_migrations`, read past the store's interface. */
async function appliedMigrations(harness: LedgerHarness): Promise<number[]> {
  const { databasePath, databaseUrl } = harness.storeOptions;
  if (databasePath !== undefined) {
    const database = new Database(databasePath, { readonly: true });
    try {
      const rows = database.prepare('SELECT version FROM schema_migrations').all();
      return (rows as { version: number }[]).map((row) => row.version).sort((a, b) => a - b);
    } finally {
      database.close();
    }
  }
  const url = new URL(databaseUrl!);
  const schema = url.searchParams.get('schema')!;
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const result = await client.query(
      `SELECT version::int AS version FROM ${schema}.schema_migrations`,
    );
    return result.rows.map((row: { version: number }) => row.version).sort((a, b) => a - b);
  } finally {
    await client.end();
  }
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

    it('records versioned migrations 1 and 100 to 103 on start', async () => {
      const versions = await appliedMigrations(harness);
      expect(versions.filter((version) => version < 200)).toEqual([1, 100, 101, 102, 103]);
    });
  });
}
