import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerHarness, StoreKind } from './ledger-fixtures.js';
import { balanceOf, customerWith, ledgerOf, startLedgerHarness } from './ledger-fixtures.js';

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
        // The same key again in the same batch with the same payload: a duplicate.
        event('e2', '2026-07-02T00:00:01Z', 7),
      ];
      const first = await harness.postUsage(batch);
      expect(first.body).toMatchObject({ accepted: 3, duplicates: 1, rejected: [] });
      const [s1, s2, s3, repeat] = first.body.sequences as number[];
      expect([s2! - s1!, s3! - s2!, repeat]).toEqual([1, 1, s3]);

      // A retry resends the batch as it was: every event is a duplicate.
      const again = await harness.postUsage(batch);
      expect(again.body).toMatchObject({ accepted: 0, duplicates: 4, rejected: [] });
      expect(again.body.sequences).toEqual([s3, s3, s3, s3]);
      expect(await usedAt('meter', '2026-07-02T00:00:30Z')).toBe(18);
      expect(await usedAt('meter', '2026-07-01T23:59:59Z')).toBe(5);
    });

    it('rejects a key reused with another quantity, feature or time; records none', async () => {
      await customerWith(harness, 'reuser', { amount: 100 });
      harness.clock.set('2026-07-05T00:00:10Z');
      const at = Date.parse('2026-07-05T00:00:00Z');
      const event = (key: string, feature: string, quantity: number, time = at) => ({
        key,
        customer: 'reuser',
        feature,
        quantity,
        time,
      });
      const first = await harness.postUsage([event('u1', 'chat', 5), event('u2', 'tokens', 3)]);
      expect(first.body).toMatchObject({ accepted: 2, duplicates: 0, rejected: [] });
      const entriesBefore = await ledgerOf(harness, 'reuser');

      const reply = await harness.postUsage([
        event('u1', 'chat', 50),
        event('u2', 'chat', 3),
        event('u2', 'tokens', 3, at + 1),
        event('u1', 'chat', 5),
        event('u3', 'tokens', 4),
        // A repeat inside the batch is compared with the first event of its key: u3 above.
        event('u3', 'tokens', 40),
      ]);
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ accepted: 1, duplicates: 1 });
      const rejected = reply.body.rejected as { index: number; key: string; code: string }[];
      expect(rejected.map(({ index, key, code }) => [index, key, code])).toEqual([
        [0, 'u1', 'TOLLGATE_ERR_IDEMPOTENCY_MISMATCH'],
        [1, 'u2', 'TOLLGATE_ERR_IDEMPOTENCY_MISMATCH'],
        [2, 'u2', 'TOLLGATE_ERR_IDEMPOTENCY_MISMATCH'],
        [5, 'u3', 'TOLLGATE_ERR_IDEMPOTENCY_MISMATCH'],
      ]);
      const sequences = reply.body.sequences as (number | null)[];
      expect(sequences.map((sequence) => sequence === null)).toEqual([
        true,
        true,
        true,
        false,
        false,
        true,
      ]);
      // Nothing was written for the rejected events: the balance and tokens are unchanged.
      expect((await balanceOf(harness, 'reuser', 'credits')).balance).toBe(95);
      expect(await ledgerOf(harness, 'reuser')).toEqual(entriesBefore);
      harness.clock.set('2026-07-05T00:00:10Z');
      const used = await harness.call('GET', '/v1/customers/reuser/usage?feature=tokens');
      expect(used.body.used).toBe(7);
    });

    it('answers 422 to a strict consume that reuses a key with another quantity', async () => {
      harness.clock.set('2026-07-06T00:00:00Z');
      // The monthly plan gives access to chat and grants 100 credits at its start.
      await customerWith(harness, 'strict');
      await harness.call('POST', '/v1/customers/strict/subscriptions', { plan: 'monthly' });
      const time = harness.clock.now();
      const body = { customer: 'strict', feature: 'chat', quantity: 5, key: 's1', time };
      const first = await harness.call('POST', '/v1/consume', body);
      expect([first.status, first.body.allowed, first.body.duplicate]).toEqual([200, true, false]);
      const retry = await harness.call('POST', '/v1/consume', body);
      expect([retry.status, retry.body.allowed, retry.body.duplicate]).toEqual([200, true, true]);
      const reused = await harness.call('POST', '/v1/consume', { ...body, quantity: 50 });
      expect([reused.status, reused.body.code, reused.body.field]).toEqual([
        422,
        'TOLLGATE_ERR_IDEMPOTENCY_MISMATCH',
        'key',
      ]);
      expect((await balanceOf(harness, 'strict', 'credits')).balance).toBe(95);
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

    it('debits −95 for usage costing 500 on 95 and shows a shortfall of 405', async () => {
      harness.clock.set('2026-07-07T00:00:00Z');
      await customerWith(harness, 'shorted', { amount: 95 });
      const time = harness.clock.now();
      const usage = { key: 'big', customer: 'shorted', feature: 'chat', quantity: 500, time };
      expect((await harness.postUsage([usage])).body).toMatchObject({ accepted: 1 });
      const charged = (await ledgerOf(harness, 'shorted')).at(-1)!;
      expect([charged.kind, charged.amount, charged.reference]).toEqual([
        'debit',
        -95,
        'usage:big',
      ]);
      const read = await harness.call('GET', `/v1/customers/shorted/debits/${charged.debit_id}`);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({
        id: charged.debit_id,
        currency: 'credits',
        requested: 500,
        debited: 95,
        overage: 0,
        shortfall: 405,
        idempotency_key: 'big',
      });
      expect((await balanceOf(harness, 'shorted', 'credits')).balance).toBe(0);

      // A soft debit past the balance shows its overage; another customer's debit is 404.
      await customerWith(harness, 'overdrawn', { currency: 'soft_credits', amount: 10 });
      const soft = await harness.call('POST', '/v1/customers/overdrawn/debits', {
        currency: 'soft_credits',
        amount: 25,
        idempotency_key: 'o1',
      });
      const softRead = await harness.call('GET', `/v1/customers/overdrawn/debits/${soft.body.id}`);
      expect(softRead.body).toMatchObject({
        requested: 25,
        debited: 25,
        overage: 15,
        shortfall: 0,
      });
      const foreign = await harness.call('GET', `/v1/customers/shorted/debits/${soft.body.id}`);
      expect([foreign.status, foreign.body.field]).toEqual([404, 'debit_id']);
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

    it('saturates a period total at 2^53 - 1 and keeps serving usage and snapshots', async () => {
      await customerWith(harness, 'huge');
      harness.clock.set('2026-07-06T00:00:10Z');
      const event = (key: string) => ({
        key,
        customer: 'huge',
        feature: 'tokens',
        quantity: Number.MAX_SAFE_INTEGER,
        time: Date.parse('2026-07-06T00:00:00Z'),
      });
      // One batch with two events, then a third in a batch of its own.
      expect((await harness.postUsage([event('h1'), event('h2')])).body).toMatchObject({
        accepted: 2,
      });
      expect((await harness.postUsage([event('h3')])).body).toMatchObject({ accepted: 1 });
      expect(await usedAt('huge', '2026-07-06T00:00:10Z')).toBe(Number.MAX_SAFE_INTEGER);
      const snapshot = await harness.call('GET', '/v1/snapshot');
      expect(snapshot.status).toBe(200);
    });
  });
}
