import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerHarness, StoreKind } from './ledger-fixtures.js';
import { storedEntries } from './raw-sql.js';
import {
  balanceOf,
  customerWith,
  debit,
  ledgerOf,
  startLedgerHarness,
  sumOf,
} from './ledger-fixtures.js';

/** Stored entries without the actor, which names each harness's own admin key. */
const withoutActors = (entries: readonly unknown[][]) => entries.map((entry) => entry.slice(0, 3));

/** Refunds, voids, expiry, recurring grants and rollover, run once per store. */
export function ledgerLifecycleSuite(kind: StoreKind): void {
  describe(`ledger lifecycle (${kind})`, () => {
    let harness: LedgerHarness;
    beforeAll(async () => {
      harness = await startLedgerHarness(kind, '2026-07-01T00:00:00Z');
    });
    afterAll(() => harness.close());

    it('refunds the last-drawn grant first, and never more than the debit', async () => {
      harness.clock.set('2026-07-01T00:00:00Z');
      await customerWith(harness, 'refund');
      const grant = (key: string, category: string, amount: number) =>
        harness.call('POST', '/v1/customers/refund/grants', {
          currency: 'credits',
          category,
          amount,
          idempotency_key: key,
        });
      const promo = await grant('promo', 'promotional', 20);
      const paid = await grant('paid', 'paid', 50);
      const spent = await debit(harness, 'refund', { amount: 60, idempotency_key: 'd' });
      expect(spent.body.lines).toEqual([
        { grant_id: promo.body.id, amount: 20 },
        { grant_id: paid.body.id, amount: 40 },
      ]);
      const refund = (amount: number, key: string) =>
        harness.call('POST', '/v1/customers/refund/refunds', {
          debit_id: spent.body.id,
          amount,
          idempotency_key: key,
        });
      const first = await refund(45, 'r1');
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ balance: 55, amount: 45 });
      expect(first.body.lines).toEqual([
        { grant_id: paid.body.id, amount: 40 },
        { grant_id: promo.body.id, amount: 5 },
      ]);
      const tooMuch = await refund(16, 'r2');
      expect(tooMuch.status).toBe(409);
      expect(tooMuch.body).toMatchObject({
        code: 'TOLLGATE_ERR_REFUND_EXCEEDS_DEBIT',
        message: `amount: at most 15 of debit ${spent.body.id} can be refunded`,
      });
      expect((await refund(15, 'r3')).body.balance).toBe(70);
      expect((await refund(1, 'r4')).status).toBe(409);
      const refunds = (await ledgerOf(harness, 'refund')).filter((e) => e.kind === 'refund');
      expect(refunds.map((entry) => entry.amount)).toEqual([40, 5, 15]);
    });

    it("refuses a refund of another customer's debit as not found", async () => {
      await customerWith(harness, 'thief', { amount: 10 });
      await customerWith(harness, 'victim', { amount: 10 });
      const spent = await debit(harness, 'victim', { amount: 5, idempotency_key: 'v' });
      const reply = await harness.call('POST', '/v1/customers/thief/refunds', {
        debit_id: spent.body.id,
        amount: 5,
        idempotency_key: 't',
      });
      expect(reply.status).toBe(404);
      expect(reply.body.field).toBe('debit_id');
      expect((await balanceOf(harness, 'thief', 'credits')).balance).toBe(10);
    });

    it('refunds an overage against the debt; a voided grant takes no refund', async () => {
      await customerWith(harness, 'debtor', { currency: 'soft_credits', amount: 10 });
      const spent = await debit(harness, 'debtor', {
        currency: 'soft_credits',
        amount: 25,
        idempotency_key: 'd',
      });
      const grantId = spent.body.lines[0].grant_id;
      await harness.call('POST', `/v1/customers/debtor/grants/${grantId}/void`, {
        idempotency_key: 'v',
      });
      const refund = (amount: number, key: string) =>
        harness.call('POST', '/v1/customers/debtor/refunds', {
          debit_id: spent.body.id,
          amount,
          idempotency_key: key,
        });
      expect((await refund(16, 'r1')).status).toBe(409);
      const paid = await refund(15, 'r2');
      expect(paid.body).toMatchObject({ balance: 0, lines: [{ grant_id: null, amount: 15 }] });
    });

    it('voids the unused part of a grant once: −30 after spending 20 of 50', async () => {
      const created = await customerWith(harness, 'void', { amount: 50 });
      await debit(harness, 'void', { amount: 20, idempotency_key: 'd' });
      const path = `/v1/customers/void/grants/${created.id}/void`;
      const voided = await harness.call('POST', path, { idempotency_key: 'v', reference: 'CN-7' });
      expect(voided.status).toBe(200);
      expect(voided.body).toMatchObject({ voided: 30, balance: 0, grant: { remaining: 0 } });
      const again = await harness.call('POST', path, { idempotency_key: 'v2' });
      expect([again.status, again.body.code]).toEqual([409, 'TOLLGATE_ERR_CONFLICT']);
      expect((await debit(harness, 'void', { amount: 1, idempotency_key: 'd2' })).status).toBe(402);
      const entries = await ledgerOf(harness, 'void');
      expect(entries.map((e) => [e.kind, e.amount, e.reference])).toEqual([
        ['grant', 50, null],
        ['debit', -20, null],
        ['void', -30, 'CN-7'],
      ]);
      const listed = await harness.call('GET', '/v1/customers/void/grants');
      expect(listed.body.grants[0]).toMatchObject({ status: 'voided', remaining: 0 });
    });

    it('expires a remainder at its instant the same way lazily and by the job', async () => {
      // Two stores with one history: one is only read (the lazy path), the other only
      // rolled over by the job and then read raw, past the lazy path.
      const lazy = await startLedgerHarness(kind, '2026-07-10T00:00:00Z');
      const byJob = await startLedgerHarness(kind, '2026-07-10T00:00:00Z');
      try {
        for (const each of [lazy, byJob]) {
          await customerWith(each, 'expiring');
          await each.call('POST', '/v1/customers/expiring/grants', {
            currency: 'credits',
            category: 'promotional',
            amount: 40,
            expires_at: '2026-07-20T00:00:00Z',
            idempotency_key: 'expiring',
          });
          await debit(each, 'expiring', { amount: 15, idempotency_key: 'd' });
          each.clock.set('2026-07-25T00:00:00Z');
        }
        const history = [
          ['grant', 40, Date.parse('2026-07-10T00:00:00Z')],
          ['debit', -15, Date.parse('2026-07-10T00:00:00Z')],
        ];
        const expiry = ['expiry', -25, Date.parse('2026-07-20T00:00:00Z'), 'job'];
        const job = await byJob.call('POST', '/v1/jobs/ledger', {});
        expect(job.body.customers).toBe(1);
        const jobWrote = await storedEntries(byJob, 'expiring');
        expect(withoutActors(jobWrote)).toEqual([...history, expiry.slice(0, 3)]);
        expect(jobWrote.at(-1)).toEqual(expiry);

        expect(withoutActors(await storedEntries(lazy, 'expiring'))).toEqual(history);
        expect((await balanceOf(lazy, 'expiring', 'credits')).balance).toBe(0);
        const lazyWrote = await storedEntries(lazy, 'expiring');
        expect(lazyWrote.at(-1)).toEqual(expiry);
        expect(withoutActors(lazyWrote)).toEqual(withoutActors(jobWrote));
      } finally {
        await lazy.close();
        await byJob.close();
      }
    });
  });

  describe(`ledger recurring grants and rollover (${kind})`, () => {
    let harness: LedgerHarness;
    beforeAll(async () => {
      harness = await startLedgerHarness(kind, '2026-01-10T00:00:00Z');
    });
    afterAll(() => harness.close());

    it('grants 100 once per period and carries at most 30 unused credits over', async () => {
      // The same history on a second store, rolled over by the job only and read raw,
      // while this one is never rolled over by the job: both paths must write the same.
      const jobHarness = await startLedgerHarness(kind, '2026-01-10T00:00:00Z');
      for (const each of [harness, jobHarness]) {
        await customerWith(each, 'roll');
        await each.call('POST', '/v1/customers/roll/subscriptions', { plan: 'monthly' });
        await debit(each, 'roll', { amount: 50, idempotency_key: 'spend' });
        each.clock.set('2026-01-20T00:00:00Z');
      }
      // Many reads, or many jobs, inside one period grant nothing more.
      for (let index = 0; index < 3; index += 1) {
        await balanceOf(harness, 'roll', 'credits');
        await jobHarness.call('POST', '/v1/jobs/ledger', {});
      }
      expect((await balanceOf(harness, 'roll', 'credits')).balance).toBe(50);

      // Three boundaries pass: 2-10, 3-10, 4-10. Each carries min(unused, 30).
      harness.clock.set('2026-04-15T00:00:00Z');
      jobHarness.clock.set('2026-04-15T00:00:00Z');
      expect(await storedEntries(harness, 'roll')).toHaveLength(2);
      await jobHarness.call('POST', '/v1/jobs/ledger', {});
      const byJob = await storedEntries(jobHarness, 'roll');
      await jobHarness.close();
      const lazy = await ledgerOf(harness, 'roll');
      expect(withoutActors(await storedEntries(harness, 'roll'))).toEqual(withoutActors(byJob));
      expect(byJob.slice(2).every((entry) => entry[3] === 'job')).toBe(true);
      expect(lazy.map((entry) => [entry.kind, entry.amount, entry.at.slice(0, 10)])).toEqual([
        ['grant', 100, '2026-01-10'],
        ['debit', -50, '2026-01-10'],
        ['expiry', -50, '2026-02-10'],
        ['grant', 30, '2026-02-10'],
        ['grant', 100, '2026-02-10'],
        ['expiry', -30, '2026-03-10'],
        ['expiry', -100, '2026-03-10'],
        ['grant', 30, '2026-03-10'],
        ['grant', 100, '2026-03-10'],
        ['expiry', -30, '2026-04-10'],
        ['expiry', -100, '2026-04-10'],
        ['grant', 30, '2026-04-10'],
        ['grant', 100, '2026-04-10'],
      ]);
      expect((await balanceOf(harness, 'roll', 'credits')).balance).toBe(130);
      expect(sumOf(lazy, 'credits')).toBe(130);
      const grants = (await harness.call('GET', '/v1/customers/roll/grants')).body.grants;
      expect(grants.filter((g: any) => g.source.startsWith('rollover:'))).toHaveLength(3);
      expect(grants.at(-2)).toMatchObject({ amount: 30, cost_basis: 0, status: 'live' });
      expect(grants.at(-1)).toMatchObject({ amount: 100, cost_basis: 900, status: 'live' });
    });
  });

  describe(`ledger recurring grants and the subscription lifecycle (${kind})`, () => {
    let harness: LedgerHarness;
    beforeAll(async () => {
      harness = await startLedgerHarness(kind, '2026-01-10T00:00:00Z');
    });
    afterAll(() => harness.close());

    const entriesOf = async (customer: string) =>
      (await ledgerOf(harness, customer)).map((entry) => [entry.kind, entry.amount, entry.at]);
    const subscribe = async (customer: string, plan: string) => {
      await customerWith(harness, customer);
      const reply = await harness.call('POST', `/v1/customers/${customer}/subscriptions`, {
        plan,
      });
      expect(reply.status).toBe(201);
    };
    const lifecycle = (customer: string, event: string) =>
      harness.call('POST', `/v1/customers/${customer}/subscription/events`, { event });
    const day = (date: string) => `2026-${date}T00:00:00.000Z`;
    // A period boundary with 100 unused: both grants expire, 30 roll over, 100 arrive.
    const boundary = (date: string) => [
      ['expiry', -30, day(date)],
      ['expiry', -100, day(date)],
      ['grant', 30, day(date)],
      ['grant', 100, day(date)],
    ];

    it('grants nothing for the periods after a cancel takes effect', async () => {
      harness.clock.set('2026-01-10T00:00:00Z');
      await subscribe('quitter', 'monthly');
      harness.clock.set('2026-01-20T00:00:00Z');
      expect((await lifecycle('quitter', 'cancel')).status).toBe(200);
      harness.clock.set('2026-04-15T00:00:00Z');
      await harness.call('POST', '/v1/jobs/ledger', {});
      expect(await entriesOf('quitter')).toEqual([
        ['grant', 100, day('01-10')],
        ['expiry', -100, day('02-10')],
      ]);
      expect((await balanceOf(harness, 'quitter', 'credits')).balance).toBe(0);
    });

    it('grants no period that starts during a pause; a resume grants the current one', async () => {
      harness.clock.set('2026-01-10T00:00:00Z');
      await subscribe('pauser', 'monthly');
      harness.clock.set('2026-02-20T00:00:00Z');
      expect((await lifecycle('pauser', 'pause')).status).toBe(200);
      const beforePause = [
        ['grant', 100, day('01-10')],
        ['expiry', -100, day('02-10')],
        ['grant', 30, day('02-10')],
        ['grant', 100, day('02-10')],
      ];
      // Paused over 03-10 and 04-10: the grants expire, nothing arrives.
      harness.clock.set('2026-04-15T00:00:00Z');
      await harness.call('POST', '/v1/jobs/ledger', {});
      const paused = [
        ...beforePause,
        ['expiry', -30, day('03-10')],
        ['expiry', -100, day('03-10')],
      ];
      expect(await entriesOf('pauser')).toEqual(paused);

      // The period in progress is granted at the resume, with nothing rolled into it.
      expect((await lifecycle('pauser', 'resume')).status).toBe(200);
      harness.clock.set('2026-05-12T00:00:00Z');
      expect(await entriesOf('pauser')).toEqual([
        ...paused,
        ['grant', 100, day('04-15')],
        ['expiry', -100, day('05-10')],
        ['grant', 30, day('05-10')],
        ['grant', 100, day('05-10')],
      ]);
      expect((await balanceOf(harness, 'pauser', 'credits')).balance).toBe(130);
    });

    it('starts a new plan slot at the change, never back-dated to past periods', async () => {
      harness.clock.set('2026-01-10T00:00:00Z');
      await subscribe('changer', 'monthly');
      harness.clock.set('2026-04-15T00:00:00Z');
      const change = await harness.call('POST', '/v1/customers/changer/subscription/change', {
        plan: 'monthly_plus',
      });
      expect(change.status).toBe(200);
      const beforeChange = [
        ['grant', 100, day('01-10')],
        ['expiry', -100, day('02-10')],
        ['grant', 30, day('02-10')],
        ['grant', 100, day('02-10')],
        ...boundary('03-10'),
        ...boundary('04-10'),
      ];
      // The 7 of the new slot arrive at the change; the 100 of this period were granted.
      expect(await entriesOf('changer')).toEqual([...beforeChange, ['grant', 7, day('04-15')]]);

      // From the next period on, both slots of the new plan, once each.
      harness.clock.set('2026-05-12T00:00:00Z');
      await harness.call('POST', '/v1/jobs/ledger', {});
      expect(await entriesOf('changer')).toEqual([
        ...beforeChange,
        ['grant', 7, day('04-15')],
        ['expiry', -30, day('05-10')],
        ['expiry', -100, day('05-10')],
        ['expiry', -7, day('05-10')],
        ['grant', 30, day('05-10')],
        ['grant', 100, day('05-10')],
        ['grant', 7, day('05-10')],
      ]);
      expect((await balanceOf(harness, 'changer', 'credits')).balance).toBe(137);
    });
  });
}
