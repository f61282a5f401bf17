import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, runtimeKey } from './harness.js';
import type { LedgerHarness, StoreKind } from './ledger-fixtures.js';
import { balanceOf, customerWith, debit, ledgerOf, startLedgerHarness } from './ledger-fixtures.js';
import { runRandomLoad } from './ledger-load.js';
import { checkLoadInvariants } from './ledger-load-checks.js';

const loadCustomers = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'];
export const loadFloors = { credits: 0, capped_credits: -50 };

/** Concurrent requests on one control plane, once per store. */
export function ledgerConcurrencySuite(kind: StoreKind): void {
  describe(`ledger under concurrency (${kind})`, () => {
    let harness: LedgerHarness;
    beforeAll(async () => {
      harness = await startLedgerHarness(kind, '2026-07-01T00:00:00Z');
    });
    afterAll(() => harness.close());

    it('1 unit left, 5 concurrent debits of 1: exactly 1 allowed', async () => {
      await customerWith(harness, 'last', { amount: 1 });
      const replies = await Promise.all(
        Array.from({ length: 5 }, (_, index) =>
          debit(harness, 'last', { amount: 1, idempotency_key: `last-${index}` }),
        ),
      );
      const statuses = replies.map((reply) => reply.status).sort();
      expect(statuses).toEqual([201, 402, 402, 402, 402]);
      expect((await balanceOf(harness, 'last', 'credits')).balance).toBe(0);
      expect((await ledgerOf(harness, 'last')).map((entry) => entry.amount)).toEqual([1, -1]);
    });

    it('10,000 random operations from 32 clients keep every invariant', async () => {
      for (const customer of loadCustomers) {
        await customerWith(harness, customer, { amount: 500 });
      }
      const target = {
        baseUrls: [harness.baseUrl],
        adminKey,
        runtimeKey,
        customers: loadCustomers,
        nowMs: () => harness.clock.now(),
        advance: (ms: number) => harness.clock.advance(ms),
      };
      const outcomes = await runRandomLoad(target, { operations: 10_000, clients: 32, seed: 4 });
      const read = async (path: string) => (await harness.call('GET', path)).body;
      const { entries } = await checkLoadInvariants(read, loadCustomers, outcomes, loadFloors);
      const byKind = countBy(outcomes.map((outcome) => `${outcome.kind} ${outcome.status}`));
      // Every kind of operation happened, and some were refused: the load exercised them.
      for (const seen of ['grant 201', 'debit 201', 'debit 402', 'refund 201', 'void 200']) {
        expect(byKind[seen] ?? 0, seen).toBeGreaterThan(0);
      }
      expect(outcomes.length).toBeGreaterThanOrEqual(10_000);
      expect(entries).toBeGreaterThan(5_000);
    }, 300_000);
  });
}

export function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
