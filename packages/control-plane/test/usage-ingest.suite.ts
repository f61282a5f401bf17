import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerHarness, StoreKind } from './ledger-fixtures.js';
import { balanceOf, customerWith, startLedgerHarness } from './ledger-fixtures.js';

/** Usage batches recorded set by set: duplicates, periods, sequences, credits. */
export function usageIngestSuite(kind: StoreKind): void {
  describe(`usage ingestion (${kind})`, () => {
    let harness: LedgerHarness;
    beforeAll(async () => {
      harness = await startLedgerHarness(kind, '2026-07-01T00:00:00Z');
    });
    afterAll(() => harness.close());

    const usedAt = async (customer: string, instant: string) => {
      harness.clock.set(instant);
      const reply = await harness.call('GET', `/v1/customers/${customer}/usage?feature=tokens`);
      return reply.body.used as number;
    };

    it('counts a key once within a batch and across batches; days split at 00:00', async () => {
      await customerWith(harness, 'meter');
      harness.clock.set('2026-07-02T00:00:30Z');
      const event = (key: string, time: string, quantity: number) => ({
        key,
        customer: 'meter',
        feature: 'tokens',
        quantity,
        time: Date.parse(time),
      });
      const batch = [
        event('e1', '2026-07-01T23:59:59Z', 5),
        event('e2', '2026-07-02T00:00:01Z', 7),
        event('e3', '2026-07-02T00:00:10Z', 11),
        // The same key again in the same batch, with another quantity: a duplicate.
        event('e2', '2026-07-02T00:00:20Z', 100),
      ];
      const first = await harness.postUsage(batch);
      expect(first.body).toMatchObject({ accepted: 3, duplicates: 1, rejected: [] });
      const [s1, s2, s3, repeat] = first.body.sequences as number[];
      expect([s2! - s1!, s3! - s2!, repeat]).toEqual([1, 1, s3]);

      const again = await harness.postUsage(batch);
      expect(again.body).toMatchObject({ accepted: 0, duplicates: 4 });
      expect(again.body.sequences).toEqual([s3, s3, s3, s3]);
      expect(await usedAt('meter', '2026-07-02T00:00:30Z')).toBe(18);
      expect(await usedAt('meter', '2026-07-01T23:59:59Z')).toBe(5);
    });

    it('debits credits usage once per fresh event and records nothing for a repeat', async () => {
      harness.clock.set('2026-07-03T00:00:00Z');
      await customerWith(harness, 'chatter', { amount: 10 });
      const event = (key: string, quantity: number) => ({
        key,
        customer: 'chatter',
        feature: 'chat',
        quantity,
        time: harness.clock.now(),
      });
      const reply = await harness.postUsage([event('c1', 3), event('c2', 4), event('c1', 3)]);
      expect(reply.body).toMatchObject({ accepted: 2, duplicates: 1 });
      expect((await balanceOf(harness, 'chatter', 'credits')).balance).toBe(3);
      // A hard balance of 3 is debited to 0 by usage that already happened; never refused.
      const late = await harness.postUsage([event('c3', 5)]);
      expect(late.body).toMatchObject({ accepted: 1, duplicates: 0 });
      expect((await balanceOf(harness, 'chatter', 'credits')).balance).toBe(0);
    });

    it('rejects a batch naming an unknown customer and records none of it', async () => {
      harness.clock.set('2026-07-04T00:00:00Z');
      await customerWith(harness, 'known');
      const time = harness.clock.now();
      const reply = await harness.postUsage([
        { key: 'k1', customer: 'known', feature: 'tokens', quantity: 2, time },
        { key: 'k2', customer: 'ghost', feature: 'tokens', quantity: 2, time },
      ]);
      expect([reply.status, reply.body.field]).toEqual([400, 'events[1].customer']);
      expect(await usedAt('known', '2026-07-04T00:00:00Z')).toBe(0);
    });
  });
}
