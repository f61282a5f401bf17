import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '@tollgate/catalog';
import type { Harness } from './harness.js';
import { startStoreHarness } from './entitlements.suite.js';
import type { StoreKind } from './entitlements.suite.js';

const catalog = parseCatalog(`schema_version: 1
lifecycle: { grace_period_days: 7 }
features:
  api_calls: { kind: metered, reset: { every: month, on: anchor } }
  export_pdf: { kind: boolean }
  seats: { kind: seats }
plans:
  starter:
    versions:
      - version: 1
        published_at: "2016-01-01T00:00:00Z"
        entitlements:
          api_calls: { limit: 100, behavior: hard }
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
  premium:
    versions:
      - version: 1
        published_at: "2016-01-01T00:00:00Z"
        entitlements:
          api_calls: { limit: 5000, behavior: hard }
          export_pdf: true
trials:
  business_trial: { plan: business, days: 7, fallback_plan: starter }
  premium_trial: { plan: premium, days: 7, fallback_plan: starter }
`);

/**
 * Explain at a past instant answers from the state in force then: plan changes,
 * migrations, quantity changes and lifecycle events are kept as time-stamped rows, and
 * every trial is read, not only the latest.
 */
export function historySuite(kind: StoreKind): void {
  describe(`control plane: explain at a past instant uses the state of then (${kind})`, () => {
    let harness: Harness;
    const explain = async (customer: string, feature: string, at: string) => {
      const query = new URLSearchParams({ feature, at });
      return (await harness.call('GET', `/v1/customers/${customer}/explain?${query}`)).body;
    };
    const post = async (path: string, body: unknown, at: string) => {
      harness.clock.set(at);
      const answer = await harness.call('POST', path, body);
      expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
      return answer;
    };

    beforeAll(async () => {
      harness = await startStoreHarness(kind, '2025-03-01T00:00:00Z', catalog);
    });
    afterAll(() => harness.close());

    it('gives the old plan before a 03-15 change and the new one after it', async () => {
      await post('/v1/customers', { id: 'mover' }, '2025-03-01T00:00:00Z');
      await post('/v1/customers/mover/subscriptions', { plan: 'starter' }, '2025-03-01T00:00:00Z');
      const change = { plan: 'business', quantity: 3 };
      await post('/v1/customers/mover/subscription/change', change, '2025-03-15T00:00:00Z');
      await post(
        '/v1/customers/mover/subscription/change',
        { quantity: 5 },
        '2025-03-18T00:00:00Z',
      );

      harness.clock.set('2025-04-01T00:00:00Z');
      const before = await explain('mover', 'api_calls', '2025-03-10T00:00:00Z');
      expect(before).toMatchObject({ limit: 100, plan: { plan: 'starter', version: 1 } });
      expect(await explain('mover', 'api_calls', '2025-03-14T23:59:59.999Z')).toMatchObject({
        limit: 100,
      });
      const after = await explain('mover', 'api_calls', '2025-03-20T00:00:00Z');
      expect(after).toMatchObject({ limit: 1000, plan: { plan: 'business', version: 1 } });
      expect(await explain('mover', 'seats', '2025-03-16T00:00:00Z')).toMatchObject({ limit: 3 });
      expect(await explain('mover', 'seats', '2025-03-18T00:00:00Z')).toMatchObject({ limit: 5 });
      expect(await explain('mover', 'seats', '2025-03-10T00:00:00Z')).toMatchObject({ limit: 1 });
    });

    it('keeps past due, paid, pause and resume as instants that explain replays', async () => {
      await post('/v1/customers', { id: 'wobbly' }, '2025-03-01T00:00:00Z');
      await post(
        '/v1/customers/wobbly/subscriptions',
        { plan: 'business' },
        '2025-03-01T00:00:00Z',
      );
      const events = '/v1/customers/wobbly/subscription/events';
      await post(events, { event: 'past_due' }, '2025-03-02T00:00:00Z');
      await post(events, { event: 'paid' }, '2025-03-12T00:00:00Z');
      await post(events, { event: 'pause' }, '2025-03-20T00:00:00Z');
      await post(events, { event: 'resume' }, '2025-03-25T00:00:00Z');

      harness.clock.set('2025-04-01T00:00:00Z');
      const cases: [string, string, boolean][] = [
        ['2025-03-01T12:00:00Z', 'active', true],
        ['2025-03-08T23:59:59Z', 'past_due', true],
        // The 7-day grace ended 03-09; the customer paid on 03-12.
        ['2025-03-10T00:00:00Z', 'past_due', false],
        ['2025-03-12T00:00:00Z', 'active', true],
        ['2025-03-22T00:00:00Z', 'paused', false],
        ['2025-03-26T00:00:00Z', 'active', true],
      ];
      for (const [at, status, access] of cases) {
        const answer = await explain('wobbly', 'export_pdf', at);
        expect({ at, status: answer.status, access: answer.access }).toEqual({
          at,
          status,
          access,
        });
      }
    });

    it('resolves v1 (1,000) before a 06-15 migration and v2 (2,000) after it', async () => {
      await post('/v1/customers', { id: 'grand' }, '2025-03-01T00:00:00Z');
      await post('/v1/customers/grand/subscriptions', { plan: 'business' }, '2025-03-01T00:00:00Z');
      const migration = { from_version: 1, to_version: 2, customer: 'grand' };
      await post('/v1/plans/business/migrations', migration, '2025-06-15T00:00:00Z');

      harness.clock.set('2025-07-01T00:00:00Z');
      const before = await explain('grand', 'api_calls', '2025-06-10T00:00:00Z');
      expect(before).toMatchObject({ limit: 1000, plan: { version: 1 } });
      const after = await explain('grand', 'api_calls', '2025-06-20T00:00:00Z');
      expect(after).toMatchObject({ limit: 2000, plan: { version: 2 } });
    });

    it('reads every trial: business on 03-05, premium on 03-12, starter on 03-20', async () => {
      await post('/v1/customers', { id: 'taster' }, '2025-03-01T00:00:00Z');
      const business = { trial: 'business_trial', starts_at: '2025-03-01T00:00:00Z' };
      await post('/v1/customers/taster/trials', business, '2025-03-01T00:00:00Z');
      const premium = { trial: 'premium_trial', starts_at: '2025-03-10T00:00:00Z' };
      await post('/v1/customers/taster/trials', premium, '2025-03-10T00:00:00Z');

      harness.clock.set('2025-04-01T00:00:00Z');
      const cases: [string, string, number][] = [
        ['2025-03-05T00:00:00Z', 'business', 1000],
        ['2025-03-12T00:00:00Z', 'premium', 5000],
        ['2025-03-20T00:00:00Z', 'starter', 100],
      ];
      for (const [at, plan, limit] of cases) {
        const answer = await explain('taster', 'api_calls', at);
        expect({ at, plan: answer.plan.plan, limit: answer.limit }).toEqual({ at, plan, limit });
      }
    });
  });
}
