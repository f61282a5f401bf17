import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogFile } from '@tollgate/catalog';
import { events } from './harness.js';
import type { LedgerHarness, StoreKind } from './ledger-fixtures.js';
import { balanceOf, ledgerOf, startLedgerHarness, sumOf } from './ledger-fixtures.js';

const quillstone = loadCatalogFile(
  fileURLToPath(new URL('../../../examples/ai-assistant/catalog.yaml', import.meta.url)),
);

/** Quillstone steps 4–10 and 15 (shared/scenarios/quillstone.md) through the ledger. */
export function ledgerQuillstoneSuite(kind: StoreKind): void {
  describe(`ledger: Quillstone steps 4-10 and 15 (${kind})`, () => {
    let harness: LedgerHarness;
    const credits = async (customer: string) => balanceOf(harness, customer, 'ai_credits');
    const spend = (customer: string, amount: number, key: string) =>
      harness.call('POST', `/v1/customers/${customer}/debits`, {
        currency: 'ai_credits',
        amount,
        idempotency_key: key,
      });
    const usageAt = async (prefix: string, feature: string, count: number, at: string) => {
      harness.clock.set(at);
      const reply = await harness.postUsage(events(prefix, 'acme', feature, count, Date.parse(at)));
      expect(reply.body).toMatchObject({ accepted: count, duplicates: 0 });
    };

    beforeAll(async () => {
      harness = await startLedgerHarness(kind, '2026-03-01T00:00:00Z', quillstone);
      await harness.call('POST', '/v1/customers', { id: 'acme' });
      await harness.call('POST', '/v1/customers/acme/subscriptions', { plan: 'pro' });
    });
    afterAll(() => harness.close());

    it('step 4: 500 promotional credits make 2,500', async () => {
      harness.clock.set('2026-03-02T00:00:00Z');
      await harness.call('POST', '/v1/customers/acme/grants', {
        currency: 'ai_credits',
        amount: 500,
        category: 'promotional',
        expires_at: '2026-03-31T00:00:00Z',
        idempotency_key: 'promo-march',
      });
      expect((await credits('acme')).balance).toBe(2_500);
    });

    it('step 5: 100 chat.smart draw 500 from the promotional grant: 2,000', async () => {
      await usageAt('smart', 'chat.smart', 100, '2026-03-03T10:00:00Z');
      const { balance, grants } = await credits('acme');
      expect(balance).toBe(2_000);
      expect(grants.map((grant) => [grant.category, grant.remaining])).toEqual([
        ['paid', 2_000],
        ['promotional', 0],
      ]);
    });

    it('step 6: the 1,000 pack makes 3,000', async () => {
      const pack = { addon: 'credit_pack_1000', idempotency_key: 'pack-1' };
      expect((await harness.call('POST', '/v1/customers/acme/addons', pack)).status).toBe(201);
      expect((await credits('acme')).balance).toBe(3_000);
    });

    it('step 7: 60 images draw 1,200 from the monthly grant: 1,800 (800 + 1,000)', async () => {
      await usageAt('image', 'image.generate', 60, '2026-03-04T09:00:00Z');
      const { balance, grants } = await credits('acme');
      expect(balance).toBe(1_800);
      const paid = grants.filter((grant) => grant.category === 'paid');
      expect(paid.map((grant) => grant.remaining)).toEqual([800, 1_000]);
    });

    it('step 8: at 04-01 the 800 expire and 2,000 arrive: 3,000', async () => {
      harness.clock.set('2026-04-01T00:00:00Z');
      expect((await credits('acme')).balance).toBe(3_000);
      const entries = await ledgerOf(harness, 'acme');
      const last = entries.slice(-2).map((entry) => [entry.kind, entry.amount, entry.at]);
      expect(last).toEqual([
        ['expiry', -800, '2026-04-01T00:00:00.000Z'],
        ['grant', 2_000, '2026-04-01T00:00:00.000Z'],
      ]);
      expect(sumOf(entries, 'ai_credits')).toBe(3_000);
    });

    it('step 9: free1 spends 100 on 20 chat.smart; a 21st and a chat.fast are denied', async () => {
      await harness.call('POST', '/v1/customers', { id: 'free1' });
      await harness.call('POST', '/v1/customers/free1/subscriptions', { plan: 'free' });
      for (let index = 0; index < 20; index += 1) {
        expect((await spend('free1', 5, `smart-${index}`)).status).toBe(201);
      }
      const smart = await spend('free1', 5, 'smart-20');
      const fast = await spend('free1', 1, 'fast-0');
      expect([smart.status, fast.status]).toEqual([402, 402]);
      expect(fast.body.code).toBe('TOLLGATE_ERR_INSUFFICIENT_CREDITS');
      expect((await credits('free1')).balance).toBe(0);
    });

    it('step 10: 200 concurrent chat.fast on 100 credits: 100 allowed, 100 denied', async () => {
      await harness.call('POST', '/v1/customers', { id: 'free2' });
      await harness.call('POST', '/v1/customers/free2/subscriptions', { plan: 'free' });
      const replies = await Promise.all(
        Array.from({ length: 200 }, (_, index) => spend('free2', 1, `fast-${index}`)),
      );
      const allowed = replies.filter((reply) => reply.status === 201).length;
      const denied = replies.filter((reply) => reply.status === 402).length;
      expect([allowed, denied]).toEqual([100, 100]);
      expect((await credits('free2')).balance).toBe(0);
      const debits = (await ledgerOf(harness, 'free2')).filter((e) => e.kind === 'debit');
      expect(debits.reduce((total, entry) => total + entry.amount, 0)).toBe(-100);
    });

    it('step 15: usage event evt-1 reported twice debits 5 credits once', async () => {
      const before = (await credits('acme')).balance;
      const event = {
        key: 'evt-1',
        customer: 'acme',
        feature: 'chat.smart',
        quantity: 1,
        time: harness.clock.now(),
      };
      expect((await harness.postUsage([event])).body).toMatchObject({ accepted: 1 });
      expect((await harness.postUsage([event])).body).toMatchObject({ duplicates: 1 });
      expect(before - (await credits('acme')).balance).toBe(5);
      const withKey = (await ledgerOf(harness, 'acme')).filter(
        (e) => e.idempotency_key === 'evt-1',
      );
      expect(withKey.map((entry) => entry.amount)).toEqual([-5]);
    });
  });
}
