import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry, LedgerHarness, StoreKind } from './ledger-fixtures.js';
import { customerWith, debit, ledgerOf, startLedgerHarness, sumOf } from './ledger-fixtures.js';
import type { Outcome } from './ledger-load.js';
import { noKeyProducedTwoOperations } from './ledger-load-checks.js';
import { rawSql } from './raw-sql.js';

/** The ledger's invariants, each a test title, on one history touching every entry kind. */
export function ledgerInvariantsSuite(kind: StoreKind): void {
  describe(`ledger invariants (${kind})`, () => {
    let harness: LedgerHarness;
    const outcomes: Outcome[] = [];

    /** Sends one write five times at once under one key, recording every answer. */
    const fiveTimes = async (path: string, body: Record<string, unknown>) => {
      const operation = path.split('/').at(-1)!;
      const kindOf = operation.replace(/s$/, '') as Outcome['kind'];
      const replies = await Promise.all(
        Array.from({ length: 5 }, () => harness.call('POST', `/v1/customers/inv/${path}`, body)),
      );
      for (const reply of replies) {
        const key = body.idempotency_key as string;
        outcomes.push({
          key,
          customer: 'inv',
          kind: kindOf,
          status: reply.status,
          body: reply.body,
        });
      }
      return replies.find((reply) => reply.status < 300)!;
    };

    beforeAll(async () => {
      harness = await startLedgerHarness(kind, '2026-07-01T00:00:00Z');
      await customerWith(harness, 'inv');
      const grant = { currency: 'credits', category: 'paid' };
      const a = await fiveTimes('grants', { ...grant, amount: 50, idempotency_key: 'g1' });
      await fiveTimes('grants', {
        ...grant,
        category: 'promotional',
        amount: 30,
        expires_at: '2026-07-10T00:00:00Z',
        idempotency_key: 'g2',
      });
      const spent = await fiveTimes('debits', {
        currency: 'credits',
        amount: 45,
        idempotency_key: 'd1',
      });
      await fiveTimes('refunds', { debit_id: spent.body.id, amount: 20, idempotency_key: 'r1' });
      await fiveTimes('adjustments', {
        currency: 'credits',
        amount: -3,
        reason: 'correction',
        idempotency_key: 'a1',
      });
      await fiveTimes(`grants/${a.body.id}/void`, { idempotency_key: 'v1' });
      await debit(harness, 'inv', { amount: 1, idempotency_key: 'd2' });
      harness.clock.set('2026-07-15T00:00:00Z');
    });
    afterAll(() => harness.close());

    it('a balance equals the sum of its entries', async () => {
      const entries = await ledgerOf(harness, 'inv');
      const reply = await harness.call('GET', '/v1/customers/inv/balances');
      const credits = reply.body.balances.find((entry: any) => entry.currency === 'credits');
      expect(credits.balance).toBe(sumOf(entries, 'credits'));
      // 50 + 30 − 45 + 20 − 3, the void of A's rest, one more debit and C's expiry: 0.
      expect(credits.balance).toBe(0);
      expect(new Set(entries.map((entry) => entry.kind))).toEqual(
        new Set(['grant', 'debit', 'refund', 'adjustment', 'void', 'expiry']),
      );
    });

    it("a grant's remainder equals the sum of its entries", async () => {
      const entries = await ledgerOf(harness, 'inv');
      const grants = (await harness.call('GET', '/v1/customers/inv/grants')).body.grants;
      const sumFor = (id: number) =>
        entries.filter((entry) => entry.grant_id === id).reduce((t, e) => t + e.amount, 0);
      expect(grants.map((grant: any) => [grant.amount, grant.remaining, sumFor(grant.id)])).toEqual(
        grants.map((grant: any) => [grant.amount, grant.remaining, grant.remaining]),
      );
      expect(grants.length).toBe(2);
    });

    it('ledger entries cannot be updated or deleted', async () => {
      const before = await ledgerOf(harness, 'inv');
      const id = before[0]!.id;
      await expect(
        rawSql(harness, 'UPDATE ledger_entries SET amount = 1000 WHERE id = ?', [id]),
      ).rejects.toThrow(/append-only/);
      await expect(
        rawSql(harness, 'DELETE FROM ledger_entries WHERE id = ?', [id]),
      ).rejects.toThrow(/append-only/);
      expect(await ledgerOf(harness, 'inv')).toEqual(before);
    });

    it('no idempotency key produces two operations', async () => {
      const entries = await ledgerOf(harness, 'inv');
      const keys = entries.map((entry) => entry.idempotency_key);
      for (const key of ['g1', 'g2', 'd1', 'r1', 'a1', 'v1']) expect(keys).toContain(key);
      // Five sends of each key at once: every success answers the first body.
      for (const key of ['g1', 'g2', 'd1', 'r1', 'a1', 'v1']) {
        const done = outcomes.filter((outcome) => outcome.key === key && outcome.status < 300);
        expect(done.length, key).toBeGreaterThan(0);
        for (const outcome of done) expect(outcome.body, key).toEqual(done[0]!.body);
      }
      noKeyProducedTwoOperations(entries, outcomes, 'inv');
    });

    it('the key check sees a refund applied twice under one key', () => {
      const refund = (id: number): Entry => ({
        id,
        currency: 'credits',
        kind: 'refund',
        amount: 20,
        grant_id: 1,
        debit_id: 7,
        at: '2026-07-01T00:00:00.000Z',
        actor: 'key_000000000000',
        reference: null,
        idempotency_key: 'r',
        reason: null,
      });
      const answered: Outcome[] = [
        { key: 'r', customer: 'c', kind: 'refund', status: 201, body: { amount: 20 } },
      ];
      expect(() => noKeyProducedTwoOperations([refund(1)], answered, 'c')).not.toThrow();
      expect(() => noKeyProducedTwoOperations([refund(1), refund(2)], answered, 'c')).toThrow(
        /refund r applied once/,
      );
    });
  });
}
