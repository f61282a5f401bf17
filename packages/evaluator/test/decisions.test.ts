import { beforeEach, describe, expect, it } from 'vitest';
import type { HandleEvaluator } from '../src/index.js';
import { F, MAX, RESET_AT_MS, T0, evaluatorFactories, figures, plansBytes } from './fixtures.js';

const allowed = { allowed: true, reason: 0, reasonName: 'allowed', snapshotVersion: 7 };
const denied = (reason: number, reasonName: string) => ({
  allowed: false,
  reason,
  reasonName,
  snapshotVersion: 7,
});
const limitExceeded = denied(5, 'limit_exceeded');
const noFigures = figures(null, 0, null, 0);

describe.each(evaluatorFactories)('%s evaluator decisions', (_name, create) => {
  let evaluator: HandleEvaluator;

  beforeEach(async () => {
    evaluator = await create();
    evaluator.load(plansBytes());
  });

  it('answers unknown_customer for everything before the first load', async () => {
    const empty = await create();
    expect(empty.snapshotVersion).toBe(0);
    expect(empty.check('cus_pro', 0, 1, T0)).toEqual({
      ...denied(1, 'unknown_customer'),
      ...noFigures,
      snapshotVersion: 0,
    });
  });

  it('reports the snapshot header', () => {
    expect([evaluator.snapshotVersion, evaluator.usageWatermark]).toEqual([7, 123]);
    expect(evaluator.createdAtMs).toBe(T0 - 60_000);
    expect(evaluator.featureIndex('image_gen')).toBe(F.images);
    expect(evaluator.featureIndex('nope')).toBe(-1);
  });

  it('applies precedence: unknown customer, then unknown feature, then no access', () => {
    expect(evaluator.check('cus_nobody', -1, 1, T0)).toEqual({
      ...denied(1, 'unknown_customer'),
      ...noFigures,
    });
    for (const feature of [-1, 6, 1.5]) {
      expect(evaluator.check('cus_pro', feature, 1, T0)).toEqual({
        ...denied(2, 'unknown_feature'),
        ...noFigures,
      });
    }
    expect(evaluator.check('cus_free', F.sso, 1, T0)).toEqual({
      ...denied(3, 'no_access'),
      ...noFigures,
    });
  });

  it('allows boolean and seats features on access alone', () => {
    expect(evaluator.consume('cus_pro', F.sso, 1, T0)).toEqual({ ...allowed, ...noFigures });
    expect(evaluator.check('cus_pro', F.seats, 99, T0)).toEqual({ ...allowed, ...noFigures });
    expect(evaluator.check('cus_free', F.seats, 1, T0).reasonName).toBe('no_access');
  });

  it('allows a config count up to the limit and never records it', () => {
    expect(evaluator.consume('cus_pro', F.projects, 10, T0)).toEqual({
      ...allowed,
      ...figures(10, 10, 0, 0),
    });
    expect(evaluator.consume('cus_pro', F.projects, 10, T0).allowed).toBe(true);
    expect(evaluator.check('cus_pro', F.projects, 11, T0)).toEqual({
      ...limitExceeded,
      ...figures(10, 11, 0, 0),
    });
    expect(evaluator.check('cus_free', F.projects, MAX, T0)).toEqual({
      ...allowed,
      ...figures(null, MAX, null, 0),
    });
  });

  it('denies the 11th metered call when 90 of 100 are used under a hard limit', () => {
    const resetAtMs = RESET_AT_MS;
    expect(evaluator.consume('cus_pro', F.calls, 10, T0)).toEqual({
      ...allowed,
      ...figures(100, 100, 0, 10, resetAtMs),
    });
    expect(evaluator.consume('cus_pro', F.calls, 1, T0)).toEqual({
      ...limitExceeded,
      ...figures(100, 100, 0, 1, resetAtMs),
    });
    expect(evaluator.check('cus_pro', F.calls, 0, T0)).toEqual({
      ...allowed,
      ...figures(100, 100, 0, 0, resetAtMs),
    });
  });

  it('allows overage under a soft limit and saturates unlimited usage at 2^53 − 1', () => {
    expect(evaluator.consume('cus_pro', F.overage, 5, T0)).toEqual({
      ...allowed,
      ...figures(50, 75, 0, 5),
    });
    evaluator.consume('cus_free', F.calls, MAX, T0);
    expect(evaluator.consume('cus_free', F.calls, MAX, T0)).toEqual({
      ...allowed,
      ...figures(null, MAX, null, MAX),
    });
  });

  it('drops snapshot usage and earlier local usage once the reset instant is reached', () => {
    evaluator.consume('cus_pro', F.calls, 5, T0);
    expect(evaluator.check('cus_pro', F.calls, 1, RESET_AT_MS - 1).used).toBe(95);
    expect(evaluator.check('cus_pro', F.calls, 1, RESET_AT_MS)).toEqual({
      ...allowed,
      ...figures(100, 0, 100, 1, RESET_AT_MS),
    });
    expect(evaluator.consume('cus_pro', F.calls, 30, RESET_AT_MS + 5).used).toBe(30);
    expect(evaluator.check('cus_pro', F.calls, 70, RESET_AT_MS + 6)).toMatchObject({
      allowed: true,
      used: 30,
      remaining: 70,
    });
    expect(evaluator.check('cus_pro', F.calls, 71, RESET_AT_MS + 6).reasonName).toBe(
      'limit_exceeded',
    );
  });

  it('counts metered holds as usage until they are released', () => {
    expect(evaluator.hold('cus_pro', F.calls, 8, T0).used).toBe(98);
    expect(evaluator.check('cus_pro', F.calls, 3, T0).reasonName).toBe('limit_exceeded');
    evaluator.release('cus_pro', F.calls, 8, T0);
    expect(evaluator.check('cus_pro', F.calls, 3, T0)).toMatchObject({ allowed: true, used: 90 });
    evaluator.release('cus_pro', F.calls, 8, T0);
    expect(evaluator.check('cus_pro', F.calls, 0, T0).used).toBe(90);
  });

  it('settles a metered hold, charging no more than the hard limit leaves', () => {
    evaluator.hold('cus_pro', F.calls, 5, T0);
    expect(evaluator.settle('cus_pro', F.calls, 5, 20, T0)).toBe(10);
    expect(evaluator.check('cus_pro', F.calls, 0, T0)).toMatchObject({ used: 100, remaining: 0 });
  });

  it('settles below the hold by charging the actual amount', () => {
    evaluator.hold('cus_pro', F.calls, 5, T0);
    expect(evaluator.settle('cus_pro', F.calls, 5, 2, T0)).toBe(2);
    expect(evaluator.check('cus_pro', F.calls, 0, T0).used).toBe(92);
  });

  it('spends credits at cost per unit and denies what the balance cannot cover', () => {
    expect(evaluator.consume('cus_pro', F.images, 4, T0)).toEqual({
      ...allowed,
      ...figures(null, 100, 0, 100),
    });
    expect(evaluator.consume('cus_pro', F.images, 1, T0)).toEqual({
      ...denied(6, 'insufficient_credits'),
      ...figures(null, 25, 0, 25),
    });
    expect(evaluator.consume('cus_pro', F.images, 0, T0)).toEqual({
      ...allowed,
      ...figures(null, 0, 0, 0),
    });
  });

  it('lets a soft balance go further below zero', () => {
    expect(evaluator.consume('cus_free', F.images, 2, T0)).toEqual({
      ...allowed,
      ...figures(null, 50, -90, 50),
    });
    expect(evaluator.check('cus_free', F.images, 1, T0).remaining).toBe(-90);
  });

  it('settles a credit hold above its amount by charging only what is left', () => {
    expect(evaluator.hold('cus_pro', F.images, 2, T0).remaining).toBe(50);
    expect(evaluator.check('cus_pro', F.images, 3, T0).reasonName).toBe('insufficient_credits');
    expect(evaluator.settle('cus_pro', F.images, 2, 10, T0)).toBe(100);
    expect(evaluator.check('cus_pro', F.images, 0, T0).remaining).toBe(0);
  });

  it('records carried-over usage without deciding', () => {
    evaluator.record('cus_pro', F.calls, 7, T0);
    evaluator.record('cus_pro', F.images, 1, T0);
    evaluator.record('cus_pro', F.projects, 3, T0);
    expect(evaluator.check('cus_pro', F.calls, 0, T0).used).toBe(97);
    expect(evaluator.check('cus_pro', F.images, 0, T0).remaining).toBe(75);
    expect(evaluator.check('cus_pro', F.projects, 0, T0).used).toBe(0);
  });

  it('ignores release, settle and record for unknown customers and features', () => {
    evaluator.release('cus_nobody', F.calls, 1, T0);
    evaluator.record('cus_pro', 99, 1, T0);
    expect(evaluator.settle('cus_nobody', F.calls, 1, 1, T0)).toBe(0);
    expect(evaluator.settle('cus_pro', F.sso, 1, 1, T0)).toBe(0);
    expect(evaluator.check('cus_pro', F.calls, 0, T0).used).toBe(90);
  });

  it('resolves handles and checks by handle', () => {
    const handle = evaluator.customerHandle('cus_free');
    expect(handle).toBeGreaterThanOrEqual(0);
    expect(evaluator.customerHandle('cus_free_')).toBe(-1);
    expect(evaluator.customerHandle('x'.repeat(300))).toBe(-1);
    expect(evaluator.customerHandle('cüs_pro')).toBe(-1);
    expect(evaluator.checkHandle(handle, F.images, 1, T0).remaining).toBe(-40);
    expect(evaluator.checkHandle(-1, F.images, 1, T0).reasonName).toBe('unknown_customer');
  });
});
