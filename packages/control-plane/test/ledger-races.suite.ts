import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debitCredits } from '../src/ledger/debit.js';
import { grantCredits } from '../src/ledger/ledger.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import type { LedgerHarness, StoreKind } from './ledger-fixtures.js';
import { balanceOf, customerWith, ledgerCatalog, startLedgerHarness } from './ledger-fixtures.js';

const capped = ledgerCatalog.currencies.get('capped_credits')!;

/**
 * What two control-plane processes sharing a database do to each other, replayed on a
 * second connection to the harness's database so that the interleaving is exact.
 */
export function ledgerRacesSuite(kind: StoreKind): void {
  describe(`ledger races between processes (${kind})`, () => {
    let harness: LedgerHarness;
    // Two more connections to the harness's database, as two other processes would hold.
    let other: Store;
    let third: Store;
    beforeAll(async () => {
      harness = await startLedgerHarness(kind, '2026-07-01T00:00:00Z');
      other = await openStore(harness.storeOptions, harness.clock.now());
      third = await openStore(harness.storeOptions, harness.clock.now());
    });
    afterAll(async () => {
      await other.close();
      await third.close();
      await harness.close();
    });

    const debitAt = (atMs: number, amount: number) =>
      other.transaction('test', async (tx) => {
        await tx.lockCustomer('skew');
        const request = { customerId: 'skew', currency: capped, amount, mode: 'deny' as const };
        return debitCredits(tx, request, { atMs, actor: 'test' });
      });

    it('a grant effective after a debit instant widens no overage cap: debt stays 50', async () => {
      await customerWith(harness, 'skew');
      const earlierMs = harness.clock.now();
      const laterMs = earlierMs + 1_000;
      // The process whose clock runs ahead grants 6 at `laterMs` and commits first.
      await other.transaction('test', async (tx) => {
        await tx.lockCustomer('skew');
        const grant = {
          customerId: 'skew',
          currency: 'capped_credits',
          category: 'paid' as const,
          amount: 6,
          priority: 0,
          effectiveAtMs: laterMs,
          expiresAtMs: null,
          costBasis: 0,
          costBasisCurrency: 'USD',
          sourceKey: 'skew:ahead',
          subscriptionId: null,
          recurringSlot: null,
          periodIndex: null,
        };
        await grantCredits(tx, grant, { atMs: laterMs, actor: 'test' });
      });

      // Debits at `earlierMs` cannot draw the 6 yet: 50 of debt is all the cap allows.
      const first = await debitAt(earlierMs, 50);
      expect([first.debit?.overage, first.balance]).toEqual([50, -44]);
      await expect(debitAt(earlierMs, 6)).rejects.toMatchObject({
        code: 'TOLLGATE_ERR_INSUFFICIENT_CREDITS',
      });
      // Once effective, the 6 are spent from the grant and the balance meets the cap.
      const last = await debitAt(laterMs, 6);
      expect([last.debit?.overage, last.balance]).toEqual([0, -50]);
      expect(await other.transaction('test', (tx) => tx.sumDebt('skew', 'capped_credits'))).toBe(
        50,
      );
      harness.clock.set(laterMs);
      expect((await balanceOf(harness, 'skew', 'capped_credits')).balance).toBe(-50);
    });

    it('a claim racing a release of the same key is claimed or in flight, 300 times', async () => {
      const claim = (round: number, token: string) =>
        other.transaction('test', (tx) =>
          tx.claimIdempotencyKey({
            scope: 'ledger:race',
            key: `k${round}`,
            requestHash: 'same',
            token,
            nowMs: harness.clock.now(),
            staleBeforeMs: 0,
          }),
        );
      // One SQLite file serves one process: there, the release and the claim take turns.
      const releaser = kind === 'postgres' ? third : other;
      const states: Record<string, number> = {};
      for (let round = 0; round < 300; round += 1) {
        expect((await claim(round, 'first')).state).toBe('claimed');
        // The first request was refused, so its claim is released while a retry claims.
        const [, retry] = await Promise.all([
          releaser.transaction('test', (tx) =>
            tx.releaseIdempotencyKey('ledger:race', `k${round}`, 'first'),
          ),
          claim(round, 'retry'),
        ]);
        states[retry.state] = (states[retry.state] ?? 0) + 1;
      }
      expect(
        Object.keys(states).filter((state) => state !== 'claimed' && state !== 'in_flight'),
      ).toEqual([]);
      expect((states.claimed ?? 0) + (states.in_flight ?? 0)).toBe(300);
    });
  });
}
