import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '@tollgate/catalog';
import { ReferenceEvaluator } from '@tollgate/evaluator';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

const catalog = parseCatalog(`schema_version: 1
features:
  api_calls: { kind: metered, reset: { every: month, on: anchor } }
plans:
  basic:
    versions:
      - version: 1
        published_at: "2016-01-01T00:00:00Z"
        entitlements: { api_calls: { limit: 100, behavior: hard } }
`);

/**
 * Monthly periods on the anchor, end to end: the control plane resolves and serves a
 * snapshot at each instant, the reference evaluator decides on it, and the calls allowed
 * are reported back as usage.
 */
describe('control plane: monthly resets on the anchor, decided on served snapshots', () => {
  let harness: Harness;
  let sequence = 0;

  /** Loads the snapshot served at `instant` and spends `count` calls one at a time. */
  async function spend(customer: string, instant: string, count: number, quantity = 1) {
    harness.clock.set(instant);
    const evaluator = new ReferenceEvaluator();
    evaluator.load((await harness.call('GET', '/v1/snapshot')).bytes);
    const feature = evaluator.featureIndex('api_calls');
    const nowMs = Date.parse(instant);
    const reasons = Array.from({ length: count }, () =>
      evaluator.consume(customer, feature, quantity, nowMs),
    ).map((decision) => decision.reasonName);
    const allowed = reasons.filter((reason) => reason === 'allowed').length;
    if (allowed > 0) {
      const events = [{ key: `e-${(sequence += 1)}`, customer, feature: 'api_calls' }];
      await harness.postUsage(
        events.map((event) => ({ ...event, quantity: allowed * quantity, time: nowMs })),
      );
    }
    return reasons;
  }

  beforeAll(async () => {
    harness = await startHarness('2017-01-31T00:00:00Z', { catalog });
    await harness.call('POST', '/v1/customers', { id: 'jan31' });
    await harness.call('POST', '/v1/customers/jan31/subscriptions', { plan: 'basic' });
  });
  afterAll(() => harness.close());

  it('allows 100 calls on 02-27 and denies one more', async () => {
    const reasons = await spend('jan31', '2017-02-27T10:00:00Z', 101);
    expect(reasons.slice(0, 100).every((reason) => reason === 'allowed')).toBe(true);
    expect(reasons[100]).toBe('limit_exceeded');
  });

  it('allows 100 more on 03-01: a new period began on 02-28', async () => {
    const reasons = await spend('jan31', '2017-03-01T10:00:00Z', 100);
    expect(reasons.every((reason) => reason === 'allowed')).toBe(true);
    const usage = await harness.call('GET', '/v1/customers/jan31/usage?feature=api_calls');
    expect(usage.body).toMatchObject({
      period_start: '2017-02-28T00:00:00.000Z',
      period_end: '2017-03-31T00:00:00.000Z',
      used: 100,
    });
  });

  it('denies a call at 03-30T23:59:59Z and allows one at 03-31T00:00:00Z', async () => {
    expect(await spend('jan31', '2017-03-30T23:59:59Z', 1)).toEqual(['limit_exceeded']);
    expect(await spend('jan31', '2017-03-31T00:00:00Z', 1)).toEqual(['allowed']);
  });

  it('anchored 2025-01-29: 60 on 02-10 and 60 on 03-05 allowed, 50 on 03-20 denied', async () => {
    harness.clock.set('2025-01-29T00:00:00Z');
    await harness.call('POST', '/v1/customers', { id: 'jan29' });
    await harness.call('POST', '/v1/customers/jan29/subscriptions', { plan: 'basic' });
    expect(await spend('jan29', '2025-02-10T00:00:00Z', 1, 60)).toEqual(['allowed']);
    expect(await spend('jan29', '2025-03-05T00:00:00Z', 1, 60)).toEqual(['allowed']);
    expect(await spend('jan29', '2025-03-20T00:00:00Z', 1, 50)).toEqual(['limit_exceeded']);
  });
});
