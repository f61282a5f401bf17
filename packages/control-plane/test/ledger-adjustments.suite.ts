import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './harness.js';
import type { StoreKind } from './ledger-fixtures.js';
import { balanceOf, customerWith, ledgerOf, startLedgerHarness } from './ledger-fixtures.js';

/** Operator adjustments: signed, with a reason, within the currency's limit. */
export function ledgerAdjustmentsSuite(kind: StoreKind): void {
  describe(`ledger adjustments (${kind})`, () => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await startLedgerHarness(kind, '2026-07-01T00:00:00Z');
    });
    afterAll(() => harness.close());

    const adjust = (customer: string, body: Record<string, unknown>) =>
      harness.call('POST', `/v1/customers/${customer}/adjustments`, {
        currency: 'credits',
        ...body,
      });

    it('refuses an adjustment or a scheduled grant past 2^53 - 1 naming amount', async () => {
      await customerWith(harness, 'near-max', { amount: 95 });
      const before = await ledgerOf(harness, 'near-max');
      const adjusted = await adjust('near-max', {
        amount: Number.MAX_SAFE_INTEGER,
        reason: 'too much',
        idempotency_key: 'max-1',
      });
      expect(adjusted.status).toBe(400);
      expect(adjusted.body).toMatchObject({ code: 'TOLLGATE_ERR_VALIDATION', field: 'amount' });
      const scheduled = await harness.call('POST', '/v1/customers/near-max/grants', {
        currency: 'credits',
        category: 'paid',
        amount: Number.MAX_SAFE_INTEGER,
        effective_at: '2026-08-01T00:00:00Z',
        idempotency_key: 'max-2',
      });
      expect(scheduled.status).toBe(400);
      expect(scheduled.body).toMatchObject({ code: 'TOLLGATE_ERR_VALIDATION', field: 'amount' });
      expect(await ledgerOf(harness, 'near-max')).toEqual(before);
      expect((await balanceOf(harness, 'near-max', 'credits')).balance).toBe(95);
    });

    it('adds 25 as a grant, takes 30 back in burn order, and never goes below zero', async () => {
      const seed = await customerWith(harness, 'adjusted', { amount: 10 });
      const added = await adjust('adjusted', {
        amount: 25,
        reason: 'goodwill after an outage',
        reference: 'TICKET-9',
        idempotency_key: 'a1',
      });
      expect(added.status).toBe(201);
      const grantId = added.body.grant_id as number;
      expect(added.body).toMatchObject({
        currency: 'credits',
        amount: 25,
        balance: 35,
        lines: [{ grant_id: grantId, amount: 25 }],
        reason: 'goodwill after an outage',
        reference: 'TICKET-9',
      });

      // The new grant is promotional, priority 0: it burns before the paid seed grant.
      const taken = await adjust('adjusted', {
        amount: -30,
        reason: 'usage billed twice',
        idempotency_key: 'a2',
      });
      expect([taken.status, taken.body.balance, taken.body.grant_id]).toEqual([201, 5, null]);
      expect(taken.body.lines).toEqual([
        { grant_id: grantId, amount: -25 },
        { grant_id: seed.id, amount: -5 },
      ]);

      const before = await ledgerOf(harness, 'adjusted');
      const refused = await adjust('adjusted', {
        amount: -6,
        reason: 'too much',
        idempotency_key: 'a3',
      });
      expect([refused.status, refused.body.code, refused.body.field]).toEqual([
        402,
        'TOLLGATE_ERR_INSUFFICIENT_CREDITS',
        'amount',
      ]);
      expect(await ledgerOf(harness, 'adjusted')).toEqual(before);
      expect((await balanceOf(harness, 'adjusted', 'credits')).balance).toBe(5);
      expect(before.map((entry) => [entry.kind, entry.amount, entry.reason])).toEqual([
        ['grant', 10, null],
        ['adjustment', 25, 'goodwill after an outage'],
        ['adjustment', -25, 'usage billed twice'],
        ['adjustment', -5, 'usage billed twice'],
      ]);
    });

    it('replays an adjustment by its key and refuses the key with another amount', async () => {
      await customerWith(harness, 'replayed', { amount: 10 });
      const body = { amount: 4, reason: 'credit note', idempotency_key: 'r1' };
      const first = await adjust('replayed', body);
      const again = await adjust('replayed', body);
      expect([first.status, again.status]).toEqual([201, 201]);
      expect(again.body).toEqual(first.body);
      const changed = await adjust('replayed', { ...body, amount: 5 });
      expect([changed.status, changed.body.code]).toEqual([
        422,
        'TOLLGATE_ERR_IDEMPOTENCY_MISMATCH',
      ]);
      expect((await ledgerOf(harness, 'replayed')).map((entry) => entry.amount)).toEqual([10, 4]);
      expect((await balanceOf(harness, 'replayed', 'credits')).balance).toBe(14);
    });

    it('takes a soft balance below zero up to its cap; a positive one pays the debt', async () => {
      await customerWith(harness, 'softly', { currency: 'capped_credits', amount: 10 });
      const capped = { currency: 'capped_credits', reason: 'correction' };
      const down = await adjust('softly', { ...capped, amount: -15, idempotency_key: 's1' });
      expect([down.status, down.body.balance]).toEqual([201, -5]);
      expect(down.body.lines.at(-1)).toEqual({ grant_id: null, amount: -5 });
      // The cap is 50: a debt of 5 + 46 would pass it.
      const past = await adjust('softly', { ...capped, amount: -46, idempotency_key: 's2' });
      expect([past.status, past.body.code]).toEqual([402, 'TOLLGATE_ERR_INSUFFICIENT_CREDITS']);
      const up = await adjust('softly', { ...capped, amount: 8, idempotency_key: 's3' });
      expect([up.status, up.body.balance]).toEqual([201, 3]);
      const entries = await ledgerOf(harness, 'softly');
      expect(entries.slice(-3).map((entry) => [entry.kind, entry.amount])).toEqual([
        ['adjustment', 8],
        ['adjustment', 5],
        ['debit', -5],
      ]);
    });

    it('refuses a zero, fractional or huge amount or no reason, and writes nothing', async () => {
      await customerWith(harness, 'strict-adjust', { amount: 10 });
      const cases: [Record<string, unknown>, string][] = [
        [{ amount: 0, reason: 'x' }, 'amount'],
        [{ amount: -1.5, reason: 'x' }, 'amount'],
        [{ amount: '5', reason: 'x' }, 'amount'],
        [{ amount: -(2 ** 53), reason: 'x' }, 'amount'],
        [{ amount: 5 }, 'reason'],
        [{ amount: 5, reason: '' }, 'reason'],
        [{ amount: -5, reason: 'x', category: 'paid' }, 'category'],
        [{ amount: 5, reason: 'x', currency: 'gold' }, 'currency'],
      ];
      for (const [index, [body, field]] of cases.entries()) {
        const reply = await adjust('strict-adjust', { idempotency_key: `b${index}`, ...body });
        expect([reply.status, reply.body.field], JSON.stringify(body)).toEqual([400, field]);
      }
      expect((await ledgerOf(harness, 'strict-adjust')).map((entry) => entry.amount)).toEqual([10]);
      expect((await balanceOf(harness, 'strict-adjust', 'credits')).balance).toBe(10);
    });
  });
}
