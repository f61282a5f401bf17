import { describe, expect, it } from 'vitest';
import { checkOverrideOverlap, resolveAccount } from '../src/index.js';
import type { Resolution } from '../src/index.js';
import { account, resolutionCatalog as catalog, subscribed } from './fixtures.js';

const at = (text: string): number => Date.parse(text);
const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const entry = (resolution: Resolution, feature: string) =>
  resolution.entitlements.find((candidate) => candidate.feature === feature)!;

describe('resolveAccount: trials end by comparing instants', () => {
  const trial = {
    trial: 'business_trial',
    plan: 'business',
    startsAtMs: at('2025-07-13T00:00:00Z'),
    endsAtMs: at('2025-07-27T00:00:00Z'),
  };
  const state = account({ trial });

  it('grants business until the last millisecond before the end (2025-07-26T23:59:59Z)', () => {
    const resolution = resolveAccount(catalog, state, at('2025-07-26T23:59:59Z'));
    expect(resolution.plan).toMatchObject({ plan: 'business', via: 'trial' });
    expect(resolution.status).toBe('trialing');
    expect(entry(resolution, 'export_pdf').access).toBe(true);
    expect(resolution.nextChangeAtMs).toBe(at('2025-07-27T00:00:00Z'));
  });

  it('falls back at 2025-07-27T00:00:00Z and still at 2025-09-15, with no job run', () => {
    for (const instant of ['2025-07-27T00:00:00Z', '2025-09-15T00:00:00Z']) {
      const resolution = resolveAccount(catalog, state, at(instant));
      expect(resolution.plan).toMatchObject({ plan: 'starter', via: 'fallback' });
      expect(entry(resolution, 'export_pdf').access).toBe(false);
      expect(entry(resolution, 'max_projects').limit).toBe(50);
    }
  });
});

describe('resolveAccount: every trial, the one of the instant deciding', () => {
  const span = (start: string, end: string) => ({
    trial: 'business_trial',
    plan: 'business',
    startsAtMs: at(start),
    endsAtMs: at(end),
  });
  const state = account({
    subscription: subscribed('starter', '2025-01-20T00:00:00Z'),
    trials: [
      span('2025-05-01T00:00:00Z', '2025-05-08T00:00:00Z'),
      span('2025-03-01T00:00:00Z', '2025-03-15T00:00:00Z'),
    ],
  });

  it('grants business in each trial, starter between and after them', () => {
    const cases = [
      ['2025-02-28T23:59:59Z', 'starter', 50],
      ['2025-03-10T00:00:00Z', 'business', null],
      ['2025-04-01T00:00:00Z', 'starter', 50],
      ['2025-05-07T23:59:59Z', 'business', null],
      ['2025-05-08T00:00:00Z', 'starter', 50],
    ];
    const answers = cases.map(([instant]) => {
      const resolution = resolveAccount(catalog, state, at(instant as string));
      return [instant, resolution.plan?.plan, entry(resolution, 'max_projects').limit];
    });
    expect(answers).toEqual(cases);
  });

  it('names the start of a later trial as the next change, before the 05-20 reset', () => {
    const resolution = resolveAccount(catalog, state, at('2025-04-25T00:00:00Z'));
    expect(resolution.nextChangeAtMs).toBe(at('2025-05-01T00:00:00Z'));
  });
});

describe('resolveAccount: add-ons and overrides', () => {
  const base = account({
    subscription: subscribed('starter', '2026-01-01T00:00:00Z'),
    addons: [{ addon: 'extra_projects_25', purchasedAtMs: at('2026-01-02T00:00:00Z') }],
  });
  const override = {
    id: '1',
    feature: 'max_projects',
    access: true,
    limit: 10,
    rule: 'set' as const,
    startsAtMs: at('2026-02-01T00:00:00Z'),
    endsAtMs: at('2026-03-01T00:00:00Z'),
  };

  it('adds 25 to a plan limit of 50: 75, the add-on deciding', () => {
    const projects = entry(
      resolveAccount(catalog, base, at('2026-01-15T00:00:00Z')),
      'max_projects',
    );
    expect(projects.limit).toBe(75);
    expect(projects.winner).toBe('extra_projects_25');
    expect(projects.trace.map((step) => [step.name, step.rule, step.limitAfter])).toEqual([
      ['starter v1', 'base', 50],
      ['extra_projects_25', 'sum', 75],
    ]);
  });

  it('gives 10 while an override sets 10, and the trace says the override won', () => {
    const state = { ...base, overrides: [override] };
    const resolution = resolveAccount(catalog, state, at('2026-02-10T00:00:00Z'));
    const projects = entry(resolution, 'max_projects');
    expect(projects.limit).toBe(10);
    expect(projects.winner).toBe('override 1');
    expect(projects.trace.at(-1)).toMatchObject({ source: 'override', rule: 'set', active: true });
    expect(resolution.nextChangeAtMs).toBe(at('2026-03-01T00:00:00Z'));
  });

  it('returns to 75 when the override ends, with no job run', () => {
    const state = { ...base, overrides: [override] };
    const projects = entry(
      resolveAccount(catalog, state, at('2026-03-01T00:00:00Z')),
      'max_projects',
    );
    expect(projects.limit).toBe(75);
    expect(projects.trace.at(-1)).toMatchObject({
      active: false,
      note: 'ended 2026-03-01T00:00:00.000Z',
    });
  });

  it('treats unlimited as a value: 25 more than unlimited is unlimited', () => {
    const state = account({
      subscription: subscribed('business', '2026-01-01T00:00:00Z'),
      addons: [{ addon: 'extra_projects_25', purchasedAtMs: at('2026-01-02T00:00:00Z') }],
    });
    expect(
      entry(resolveAccount(catalog, state, at('2026-01-15T00:00:00Z')), 'max_projects').limit,
    ).toBeNull();
  });
});

describe('resolveAccount: periods on the anchor', () => {
  it('computes [01-31, 02-28), [02-28, 03-31), [03-31, 04-30), [04-30, 05-31)', () => {
    const state = account({ subscription: subscribed('starter', '2017-01-31T00:00:00Z') });
    const periods = ['2017-02-27', '2017-03-01', '2017-04-01', '2017-05-01'].map((day) => {
      const period = entry(
        resolveAccount(catalog, state, at(`${day}T00:00:00Z`)),
        'api_calls',
      ).period!;
      return [iso(period.startMs), iso(period.endMs)];
    });
    expect(periods).toEqual([
      ['2017-01-31', '2017-02-28'],
      ['2017-02-28', '2017-03-31'],
      ['2017-03-31', '2017-04-30'],
      ['2017-04-30', '2017-05-31'],
    ]);
  });
});

describe('resolveAccount: lifecycle', () => {
  const since = at('2026-03-10T00:00:00Z');
  const pastDue = account({
    subscription: { ...subscribed('business', '2026-03-01T00:00:00Z'), pastDueSinceMs: since },
  });

  it('keeps a past-due customer on the plan for the 7-day grace period, then falls back', () => {
    const during = resolveAccount(catalog, pastDue, at('2026-03-16T23:59:59Z'));
    expect([during.status, during.plan?.plan, during.nextChangeAtMs]).toEqual([
      'past_due',
      'business',
      at('2026-03-17T00:00:00Z'),
    ]);
    const after = resolveAccount(catalog, pastDue, at('2026-03-17T00:00:00Z'));
    expect([after.status, after.plan?.plan, after.plan?.via]).toEqual([
      'past_due',
      'starter',
      'fallback',
    ]);
  });

  it('keeps a cancel-at-period-end subscription until the end, then falls back', () => {
    const cancelAtMs = at('2026-04-01T00:00:00Z');
    const state = account({
      subscription: { ...subscribed('business', '2026-03-01T00:00:00Z'), cancelAtMs },
    });
    expect(resolveAccount(catalog, state, cancelAtMs - 1).status).toBe('active');
    expect(resolveAccount(catalog, state, cancelAtMs)).toMatchObject({
      status: 'canceled',
      plan: { plan: 'starter' },
    });
  });

  it('falls back from the instant of a pause, and the pause is the next change before it', () => {
    const pausedAtMs = at('2026-03-05T00:00:00Z');
    const state = account({
      subscription: { ...subscribed('business', '2026-03-01T00:00:00Z'), pausedAtMs },
    });
    const before = resolveAccount(catalog, state, pausedAtMs - 1);
    expect([before.status, before.plan?.plan, before.nextChangeAtMs]).toEqual([
      'active',
      'business',
      pausedAtMs,
    ]);
    const paused = resolveAccount(catalog, state, pausedAtMs);
    expect([paused.status, paused.plan?.plan, paused.plan?.via]).toEqual([
      'paused',
      'starter',
      'fallback',
    ]);
    expect(entry(paused, 'api_calls').limit).toBe(100);
    expect(entry(paused, 'export_pdf').access).toBe(false);
  });

  it('cancels now: the fallback from the cancel instant on, with no job run', () => {
    const cancelAtMs = at('2026-03-05T12:00:00Z');
    const state = account({
      subscription: { ...subscribed('business', '2026-03-01T00:00:00Z'), cancelAtMs },
    });
    expect(resolveAccount(catalog, state, cancelAtMs - 1).plan?.plan).toBe('business');
    for (const instant of [cancelAtMs, at('2027-01-01T00:00:00Z')]) {
      expect(resolveAccount(catalog, state, instant)).toMatchObject({
        status: 'canceled',
        plan: { plan: 'starter', via: 'fallback' },
      });
    }
  });

  it('gives a seats limit of the quantity bought', () => {
    const state = account({ subscription: subscribed('business', '2026-03-01T00:00:00Z', 3) });
    expect(entry(resolveAccount(catalog, state, at('2026-03-02T00:00:00Z')), 'seats').limit).toBe(
      3,
    );
  });
});

describe('checkOverrideOverlap', () => {
  const override = (id: string, starts: string | null, ends: string | null) => ({
    id,
    feature: 'max_projects',
    access: true,
    limit: 10,
    rule: 'set' as const,
    startsAtMs: starts === null ? null : at(starts),
    endsAtMs: ends === null ? null : at(ends),
  });
  const existing = [override('1', '2026-03-05T00:00:00Z', '2026-03-10T00:00:00Z')];

  it('refuses an overlapping override of the feature without a rule, naming rule', () => {
    const candidate = override('2', '2026-03-08T00:00:00Z', null);
    expect(() => checkOverrideOverlap(existing, candidate, false)).toThrow(
      expect.objectContaining({ code: 'TOLLGATE_ERR_OVERRIDE_OVERLAP', field: 'rule' }),
    );
  });

  it('accepts it with a stated rule, and one starting at the other’s end (half-open)', () => {
    const overlapping = override('2', '2026-03-08T00:00:00Z', null);
    expect(() => checkOverrideOverlap(existing, overlapping, true)).not.toThrow();
    const after = override('3', '2026-03-10T00:00:00Z', null);
    expect(() => checkOverrideOverlap(existing, after, false)).not.toThrow();
  });
});
