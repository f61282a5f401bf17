import { describe, expect, it } from 'vitest';
import { isTollgateError } from '@tollgate/core';
import { checkOverrideRule, parseCatalog, resolveAccount } from '../src/index.js';
import type { OverrideState, Resolution } from '../src/index.js';
import { account, subscribed } from './fixtures.js';

const catalog = parseCatalog(`schema_version: 1
currencies:
  tokens: { display_scale: 0 }
features:
  export_pdf: { kind: boolean, combine: set }
  api_calls: { kind: metered, reset: { every: month }, combine: max }
  max_projects: { kind: config }
  chat: { kind: credits, currency: tokens, cost: 1, combine: set }
plans:
  basic:
    versions:
      - version: 1
        published_at: "2016-01-01T00:00:00Z"
        entitlements:
          api_calls: { limit: 100 }
          max_projects: { limit: 10 }
addons:
  api_60: { entitlements: { api_calls: 60 } }
  api_160: { entitlements: { api_calls: 160 } }
  projects_5: { entitlements: { max_projects: 5 } }
  pdf: { entitlements: { export_pdf: true, chat: true } }
`);

const at = (text: string): number => Date.parse(text);
const nowMs = at('2026-03-20T00:00:00Z');
const entry = (resolution: Resolution, feature: string) =>
  resolution.entitlements.find((candidate) => candidate.feature === feature)!;
const holding = (...addons: string[]) =>
  addons.map((addon) => ({ addon, purchasedAtMs: at('2026-03-01T00:00:00Z') }));
const base = { subscription: subscribed('basic', '2026-01-01T00:00:00Z') };

describe('resolveAccount: a feature’s combine: applies to every source', () => {
  it('combines a bare add-on value by the feature’s max: 60 keeps 100, 160 gives 160', () => {
    const low = entry(
      resolveAccount(catalog, account({ ...base, addons: holding('api_60') }), nowMs),
      'api_calls',
    );
    expect([low.limit, low.winner, low.trace[1]!.rule]).toEqual([100, 'basic v1', 'max']);
    const high = entry(
      resolveAccount(catalog, account({ ...base, addons: holding('api_60', 'api_160') }), nowMs),
      'api_calls',
    );
    expect([high.limit, high.winner]).toEqual([160, 'api_160']);
  });

  it('adds a bare add-on value when the feature declares nothing: 10 + 5 = 15', () => {
    const state = account({ ...base, addons: holding('projects_5') });
    const projects = entry(resolveAccount(catalog, state, nowMs), 'max_projects');
    expect([projects.limit, projects.trace[1]!.rule]).toEqual([15, 'sum']);
  });

  it('applies boolean and credits add-ons (`true`) by the declared set, not or', () => {
    const resolution = resolveAccount(catalog, account({ ...base, addons: holding('pdf') }), nowMs);
    for (const feature of ['export_pdf', 'chat']) {
      const resolved = entry(resolution, feature);
      expect([feature, resolved.access, resolved.trace[1]!.rule]).toEqual([feature, true, 'set']);
    }
  });

  it('gives overrides the declared rule by default, and set when none is declared', () => {
    const rules = ['export_pdf', 'api_calls', 'max_projects', 'chat'].map(
      (key) => catalog.features.get(key)!.overrideRule,
    );
    expect(rules).toEqual(['set', 'max', 'set', 'set']);
  });

  it('never lowers a max feature by an override of its default rule: 50 keeps 100', () => {
    const override: OverrideState = {
      id: '1',
      feature: 'api_calls',
      access: true,
      limit: 50,
      rule: catalog.features.get('api_calls')!.overrideRule,
      startsAtMs: null,
      endsAtMs: null,
    };
    const calls = entry(
      resolveAccount(catalog, account({ ...base, overrides: [override] }), nowMs),
      'api_calls',
    );
    expect([calls.limit, calls.winner, calls.trace[1]!.rule]).toEqual([100, 'basic v1', 'max']);
  });
});

describe('checkOverrideRule: an override’s rule must suit its feature’s kind', () => {
  const refusal = (feature: string, rule: 'sum' | 'set' | 'max' | 'or') => {
    try {
      checkOverrideRule(catalog.features.get(feature)!, rule);
      return null;
    } catch (error) {
      if (!isTollgateError(error)) throw error;
      return { code: error.code, field: error.field, message: error.message };
    }
  };

  it('refuses sum and max on a boolean and or on a limit, naming rule', () => {
    expect(refusal('export_pdf', 'sum')).toEqual({
      code: 'TOLLGATE_ERR_VALIDATION',
      field: 'rule',
      message: 'rule: a boolean feature (export_pdf) combines by or, set, not sum',
    });
    expect(refusal('chat', 'max')).toMatchObject({ field: 'rule' });
    expect(refusal('max_projects', 'or')).toEqual({
      code: 'TOLLGATE_ERR_VALIDATION',
      field: 'rule',
      message: 'rule: a config feature (max_projects) combines by sum, set, max, not or',
    });
  });

  it('accepts or and set on boolean and credits, and sum, set, max on limits', () => {
    const accepted = [
      refusal('export_pdf', 'or'),
      refusal('chat', 'set'),
      refusal('api_calls', 'sum'),
      refusal('max_projects', 'max'),
      refusal('max_projects', 'set'),
    ];
    expect(accepted).toEqual([null, null, null, null, null]);
  });
});
