import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '@tollgate/catalog';
import { ReferenceEvaluator } from '@tollgate/evaluator';
import { decodeSnapshot } from '@tollgate/snapshot';
import type { Harness } from './harness.js';
import { startStoreHarness } from './entitlements.suite.js';
import type { StoreKind } from './entitlements.suite.js';

const catalog = parseCatalog(`schema_version: 1
lifecycle: { grace_period_days: 7 }
features:
  api_calls: { kind: metered, reset: { every: month, on: anchor } }
  daily_calls: { kind: metered, reset: { every: day, on: calendar } }
  export_pdf: { kind: boolean }
  seats: { kind: seats }
plans:
  starter:
    versions:
      - version: 1
        published_at: "2016-01-01T00:00:00Z"
        entitlements:
          api_calls: { limit: 100, behavior: hard }
          daily_calls: { limit: 10, behavior: hard }
          seats: { limit: 1 }
  business:
    fallback_plan: starter
    versions:
      - version: 1
        published_at: "2016-01-01T00:00:00Z"
        entitlements:
          api_calls: { limit: 1000, behavior: hard }
          export_pdf: true
          seats: { limit: quantity }
      - version: 2
        published_at: "2025-06-01T00:00:00Z"
        entitlements:
          api_calls: { limit: 2000, behavior: hard }
          export_pdf: true
          seats: { limit: quantity }
  annual:
    fallback_plan: starter
    billing: { every: year }
    versions:
      - version: 1
        published_at: "2016-01-01T00:00:00Z"
        entitlements: { export_pdf: true }
  east:
    fallback_plan: starter
    time_zone: America/New_York
    versions:
      - version: 1
        published_at: "2016-01-01T00:00:00Z"
        entitlements: { export_pdf: true }
trials:
  business_trial: { plan: business, days: 14, fallback_plan: starter }
`);

/**
 * Subscription lifecycle through the HTTP API with exact numbers: each decision is made
 * by the reference evaluator on the snapshot the control plane serves at that instant,
 * and the calls allowed are reported back as usage, as a runtime would.
 */
export function lifecycleSuite(kind: StoreKind): void {
  describe(`control plane: lifecycle, plan changes and versions over HTTP (${kind})`, () => {
    let harness: Harness;
    let sequence = 0;

    /** Serves the snapshot at `instant`, asks for `quantity` calls, reports them if allowed. */
    async function spend(
      customer: string,
      instant: string,
      quantity: number,
      feature = 'api_calls',
    ): Promise<string> {
      harness.clock.set(instant);
      const evaluator = new ReferenceEvaluator();
      evaluator.load((await harness.call('GET', '/v1/snapshot')).bytes);
      const nowMs = Date.parse(instant);
      const decision = evaluator.consume(
        customer,
        evaluator.featureIndex(feature),
        quantity,
        nowMs,
      );
      if (decision.allowed) {
        const key = `call-${(sequence += 1)}`;
        const event = { key, customer, feature, quantity, time: nowMs };
        const posted = await harness.postUsage([event]);
        expect(posted.status, JSON.stringify(posted.body)).toBe(200);
      }
      return `${decision.reasonName} ${decision.used}/${decision.limit}`;
    }

    const explain = async (customer: string, feature: string, at?: string) => {
      const query = new URLSearchParams({ feature, ...(at === undefined ? {} : { at }) });
      return (await harness.call('GET', `/v1/customers/${customer}/explain?${query}`)).body;
    };
    const event = (customer: string, name: string) =>
      harness.call('POST', `/v1/customers/${customer}/subscription/events`, { event: name });
    const subscribe = async (customer: string, at: string, plan: string) => {
      harness.clock.set(at);
      await harness.call('POST', '/v1/customers', { id: customer });
      return harness.call('POST', `/v1/customers/${customer}/subscriptions`, { plan });
    };

    beforeAll(async () => {
      harness = await startStoreHarness(kind, '2025-03-01T00:00:00Z', catalog);
    });
    afterAll(() => harness.close());

    it('keeps period usage across a mid-period plan change; new limits apply from it', async () => {
      await subscribe('mover', '2025-03-01T00:00:00Z', 'starter');
      expect(await spend('mover', '2025-03-05T00:00:00Z', 100)).toBe('allowed 100/100');
      expect(await spend('mover', '2025-03-05T00:00:00Z', 1)).toBe('limit_exceeded 100/100');

      harness.clock.set('2025-03-10T00:00:00Z');
      const up = await harness.call('POST', '/v1/customers/mover/subscription/change', {
        plan: 'business',
      });
      expect(up.body).toMatchObject({ plan: 'business', version: 1 });
      expect(await spend('mover', '2025-03-10T00:00:00Z', 900)).toBe('allowed 1000/1000');
      expect(await spend('mover', '2025-03-10T00:00:00Z', 1)).toBe('limit_exceeded 1000/1000');

      harness.clock.set('2025-03-20T00:00:00Z');
      await harness.call('POST', '/v1/customers/mover/subscription/change', { plan: 'starter' });
      expect(await explain('mover', 'api_calls')).toMatchObject({ limit: 100, used: 1000 });
      expect(await spend('mover', '2025-03-20T00:00:00Z', 1)).toBe('limit_exceeded 1000/100');
      expect(await spend('mover', '2025-04-01T00:00:00Z', 100)).toBe('allowed 100/100');
    });

    it('keeps a past-due plan for the 7-day grace, then falls back until paid', async () => {
      await subscribe('late', '2025-03-01T00:00:00Z', 'business');
      expect(await spend('late', '2025-03-05T00:00:00Z', 150)).toBe('allowed 150/1000');
      harness.clock.set('2025-03-10T00:00:00Z');
      expect((await event('late', 'past_due')).body.past_due_since).toBe(
        '2025-03-10T00:00:00.000Z',
      );

      const during = await explain('late', 'export_pdf', '2025-03-16T23:59:59Z');
      expect(during).toMatchObject({ status: 'past_due', access: true });
      expect(during.next_change_at).toBe('2025-03-17T00:00:00.000Z');
      expect(await spend('late', '2025-03-16T23:59:59Z', 1)).toBe('allowed 151/1000');
      const after = await explain('late', 'export_pdf', '2025-03-17T00:00:00Z');
      expect(after).toMatchObject({ status: 'past_due', access: false, reason: 'no_access' });
      expect(after.plan).toMatchObject({ plan: 'starter', via: 'fallback' });
      expect(await spend('late', '2025-03-17T00:00:00Z', 1)).toBe('limit_exceeded 151/100');

      harness.clock.set('2025-03-18T00:00:00Z');
      await event('late', 'paid');
      expect(await spend('late', '2025-03-18T00:00:00Z', 849)).toBe('allowed 1000/1000');
    });

    it('falls back while paused and returns on resume, usage kept', async () => {
      await subscribe('napper', '2025-03-01T00:00:00Z', 'business');
      expect(await spend('napper', '2025-03-02T00:00:00Z', 200)).toBe('allowed 200/1000');
      harness.clock.set('2025-03-05T00:00:00Z');
      await event('napper', 'pause');
      expect(await explain('napper', 'export_pdf')).toMatchObject({
        status: 'paused',
        access: false,
      });
      expect(await spend('napper', '2025-03-05T00:00:00Z', 1)).toBe('limit_exceeded 200/100');
      harness.clock.set('2025-03-08T00:00:00Z');
      await event('napper', 'resume');
      expect(await explain('napper', 'export_pdf')).toMatchObject({
        status: 'active',
        access: true,
      });
      expect(await spend('napper', '2025-03-08T00:00:00Z', 800)).toBe('allowed 1000/1000');
    });

    it('cancels now: the fallback at once, and later events refused naming event', async () => {
      await subscribe('quitter', '2025-03-01T00:00:00Z', 'business');
      harness.clock.set('2025-03-05T00:00:00Z');
      expect((await event('quitter', 'cancel')).body.cancel_at).toBe('2025-03-05T00:00:00.000Z');
      expect(await explain('quitter', 'export_pdf')).toMatchObject({
        status: 'canceled',
        access: false,
      });
      expect(await explain('quitter', 'api_calls')).toMatchObject({ limit: 100 });
      const refused = await event('quitter', 'resume');
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'TOLLGATE_ERR_CONFLICT', field: 'event' });
    });

    it('cancels at period end: business until 04-15, the fallback from 04-15T00:00Z', async () => {
      await subscribe('leaver', '2025-03-15T00:00:00Z', 'business');
      harness.clock.set('2025-03-20T00:00:00Z');
      const canceled = await event('leaver', 'cancel_at_period_end');
      expect(canceled.body.cancel_at).toBe('2025-04-15T00:00:00.000Z');
      const before = await explain('leaver', 'export_pdf', '2025-04-14T23:59:59Z');
      expect(before).toMatchObject({ status: 'active', access: true });
      expect(before.next_change_at).toBe('2025-04-15T00:00:00.000Z');
      const after = await explain('leaver', 'export_pdf', '2025-04-15T00:00:00Z');
      expect(after).toMatchObject({ status: 'canceled', access: false });
    });

    it('cancels a yearly plan at the year end: 2026-03-15T00:00Z, not 04-15', async () => {
      await subscribe('yearly', '2025-03-15T00:00:00Z', 'annual');
      harness.clock.set('2025-03-20T00:00:00Z');
      const canceled = await event('yearly', 'cancel_at_period_end');
      expect(canceled.body.cancel_at).toBe('2026-03-15T00:00:00.000Z');
      const before = await explain('yearly', 'export_pdf', '2026-03-14T23:59:59Z');
      expect(before).toMatchObject({ status: 'active', access: true });
      const after = await explain('yearly', 'export_pdf', '2026-03-15T00:00:00Z');
      expect(after).toMatchObject({ status: 'canceled', access: false });
    });

    it('cancels a New York plan at its local period end: 23:00Z once DST began', async () => {
      // Anchored 2025-02-14 19:00 EST; the period ends 03-14 19:00 EDT, which is 23:00Z.
      await subscribe('eastern', '2025-02-15T00:00:00Z', 'east');
      harness.clock.set('2025-03-01T00:00:00Z');
      const canceled = await event('eastern', 'cancel_at_period_end');
      expect(canceled.body.cancel_at).toBe('2025-03-14T23:00:00.000Z');
      const before = await explain('eastern', 'export_pdf', '2025-03-14T22:59:59Z');
      expect(before).toMatchObject({ status: 'active', access: true });
      const after = await explain('eastern', 'export_pdf', '2025-03-14T23:00:00Z');
      expect(after).toMatchObject({ status: 'canceled', access: false });
    });

    it('keeps v1 (1,000) after v2 (2,000) is published; migrates one, then all', async () => {
      await subscribe('old1', '2025-03-01T00:00:00Z', 'business');
      await subscribe('old2', '2025-03-01T00:00:00Z', 'business');
      await subscribe('new1', '2025-06-02T00:00:00Z', 'business');
      expect((await explain('new1', 'api_calls')).plan).toMatchObject({ version: 2 });
      expect(await explain('old1', 'api_calls')).toMatchObject({ limit: 1000 });
      expect(await spend('old1', '2025-06-10T00:00:00Z', 900)).toBe('allowed 900/1000');

      harness.clock.set('2025-06-15T00:00:00Z');
      const one = await harness.call('POST', '/v1/plans/business/migrations', {
        from_version: 1,
        to_version: 2,
        customer: 'old1',
      });
      expect(one.body.migrated).toEqual(['old1']);
      expect(await explain('old2', 'api_calls')).toMatchObject({ limit: 1000 });
      expect(await spend('old1', '2025-06-15T00:00:00Z', 1100)).toBe('allowed 2000/2000');

      const all = await harness.call('POST', '/v1/plans/business/migrations', {
        from_version: 1,
        to_version: 2,
      });
      // Every business v1 subscription of this file still pinned there, old1 no longer.
      expect([...all.body.migrated].sort()).toEqual([
        'late',
        'leaver',
        'napper',
        'old2',
        'quitter',
      ]);
      expect(await explain('old2', 'api_calls')).toMatchObject({ limit: 2000 });
    });

    it('refuses a migration to an unpublished version or of a customer not on it', async () => {
      harness.clock.set('2025-06-15T00:00:00Z');
      const future = await harness.call('POST', '/v1/plans/business/migrations', {
        from_version: 1,
        to_version: 3,
      });
      expect(future.body).toMatchObject({ code: 'TOLLGATE_ERR_VALIDATION', field: 'to_version' });
      const missing = await harness.call('POST', '/v1/plans/business/migrations', {
        from_version: 7,
        to_version: 2,
      });
      expect(missing.body).toMatchObject({
        code: 'TOLLGATE_ERR_VALIDATION',
        field: 'from_version',
      });
      const stranger = await harness.call('POST', '/v1/plans/business/migrations', {
        from_version: 1,
        to_version: 2,
        customer: 'new1',
      });
      expect(stranger.body).toMatchObject({ code: 'TOLLGATE_ERR_VALIDATION', field: 'customer' });
      expect((await explain('new1', 'api_calls')).plan).toMatchObject({ version: 2 });
    });

    it('trials business 07-13 to 07-27: business at 07-26T23:59:59Z, then starter', async () => {
      harness.clock.set('2025-07-13T00:00:00Z');
      await harness.call('POST', '/v1/customers', { id: 'trier' });
      const trial = await harness.call('POST', '/v1/customers/trier/trials', {
        trial: 'business_trial',
      });
      expect(trial.body).toMatchObject({ plan: 'business', ends_at: '2025-07-27T00:00:00.000Z' });
      const last = await explain('trier', 'export_pdf', '2025-07-26T23:59:59Z');
      expect(last).toMatchObject({ status: 'trialing', access: true, plan: { plan: 'business' } });
      for (const at of ['2025-07-27T00:00:00Z', '2025-09-15T00:00:00Z']) {
        const after = await explain('trier', 'export_pdf', at);
        // The trial's fallback plan is subscribed from its end, with no job run.
        expect(after).toMatchObject({ status: 'active', access: false, plan: { plan: 'starter' } });
      }
    });

    it('serves the trial end as the next change, and the fallback once it passes', async () => {
      harness.clock.set('2025-07-26T23:59:59Z');
      const during = decodeSnapshot((await harness.call('GET', '/v1/snapshot')).bytes);
      const features = during.features.map((feature) => feature.key);
      const trier = during.customers.find((customer) => customer.id === 'trier')!;
      expect(trier.nextChangeAtMs).toBe(Date.parse('2025-07-27T00:00:00Z'));
      expect(trier.entitlements[features.indexOf('export_pdf')]!.access).toBe(true);
      // The trial grants the version published at its start: v2, 2,000 calls.
      expect(trier.entitlements[features.indexOf('api_calls')]!.limit).toBe(2000);

      harness.clock.set('2025-07-27T00:00:00Z');
      const after = decodeSnapshot((await harness.call('GET', '/v1/snapshot')).bytes);
      const fallen = after.customers.find((customer) => customer.id === 'trier')!;
      expect(fallen.entitlements[features.indexOf('export_pdf')]!.access).toBe(false);
      expect(fallen.entitlements[features.indexOf('api_calls')]!.limit).toBe(100);
      // The next change is now the earliest period end: daily_calls resets at UTC midnight.
      expect(fallen.nextChangeAtMs).toBe(Date.parse('2025-07-28T00:00:00Z'));
    });

    it('resets daily at Berlin midnight; the day clocks go forward lasts 23 hours', async () => {
      harness.clock.set('2025-03-28T12:00:00Z');
      await harness.call('POST', '/v1/customers', { id: 'berlin', time_zone: 'Europe/Berlin' });
      await harness.call('POST', '/v1/customers/berlin/subscriptions', { plan: 'starter' });
      const day = async (at: string) => {
        const body = await explain('berlin', 'daily_calls', at);
        return [body.time_zone, body.period_start, body.period_end];
      };
      expect(await day('2025-03-29T12:00:00Z')).toEqual([
        'Europe/Berlin',
        '2025-03-28T23:00:00.000Z',
        '2025-03-29T23:00:00.000Z',
      ]);
      expect(await day('2025-03-30T12:00:00Z')).toEqual([
        'Europe/Berlin',
        '2025-03-29T23:00:00.000Z',
        '2025-03-30T22:00:00.000Z',
      ]);
      expect(await spend('berlin', '2025-03-30T21:59:59Z', 10, 'daily_calls')).toBe(
        'allowed 10/10',
      );
      expect(await spend('berlin', '2025-03-30T21:59:59Z', 1, 'daily_calls')).toBe(
        'limit_exceeded 10/10',
      );
      expect(await spend('berlin', '2025-03-30T22:00:00Z', 10, 'daily_calls')).toBe(
        'allowed 10/10',
      );
    });
  });
}
