import { describe, expect, it } from 'vitest';
import { isTollgateError } from '@tollgate/core';
import { parseCatalog } from '../src/index.js';

function refusedField(text: string): string | undefined {
  try {
    parseCatalog(text);
  } catch (error) {
    if (!isTollgateError(error)) throw error;
    expect(error.code).toBe('TOLLGATE_ERR_CATALOG_INVALID');
    return error.field;
  }
  throw new Error('expected the catalog to be refused');
}

const version = '{ version: 1, published_at: "2026-01-01T00:00:00Z" }';

describe('parseCatalog refuses entitlement rules that cannot resolve', () => {
  it('refuses a cycle of fallback plans, naming the fallback_plan', () => {
    const text = `schema_version: 1
features: { a: { kind: boolean } }
plans:
  free: { fallback_plan: pro, versions: [${version}] }
  pro: { fallback_plan: free, versions: [${version}] }`;
    expect(refusedField(text)).toBe('plans.free.fallback_plan');
  });

  it('refuses an add-on naming a missing feature', () => {
    const text = `schema_version: 1
features: { a: { kind: config } }
plans: { p: { versions: [${version}] } }
addons: { more: { entitlements: { b: { add: 1 } } } }`;
    expect(refusedField(text)).toBe('addons.more.entitlements.b');
  });

  it('refuses a period of zero length: a reset interval of 0, a trial of 0 days', () => {
    const reset = `schema_version: 1
features: { calls: { kind: metered, reset: { every: day, interval: 0 } } }
plans: {}`;
    expect(refusedField(reset)).toBe('features.calls.reset.interval');
    const trial = `schema_version: 1
features: { a: { kind: boolean } }
plans: { p: { versions: [${version}] } }
trials: { t: { plan: p, days: 0, fallback_plan: p } }`;
    expect(refusedField(trial)).toBe('trials.t.days');
  });

  it('refuses an unknown time zone for the catalog and for a plan', () => {
    expect(
      refusedField('schema_version: 1\ntime_zone: Mars/Olympus\nfeatures: {}\nplans: {}'),
    ).toBe('time_zone');
    const plan = `schema_version: 1
features: { a: { kind: boolean } }
plans: { p: { time_zone: Europe/Atlantis, versions: [${version}] } }`;
    expect(refusedField(plan)).toBe('plans.p.time_zone');
  });

  it('refuses a combine rule that does not fit the kind', () => {
    const text = 'schema_version: 1\nfeatures: { a: { kind: boolean, combine: sum } }\nplans: {}';
    expect(refusedField(text)).toBe('features.a.combine');
  });

  it('refuses a seat-requiring feature when no seats feature exists', () => {
    const text =
      'schema_version: 1\nfeatures: { sso: { kind: boolean, requires_seat: true } }\nplans: {}';
    expect(refusedField(text)).toBe('features.sso.requires_seat');
  });
});
