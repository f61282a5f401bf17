import { describe, expect, it } from 'vitest';
import { isTollgateError } from '@tollgate/core';
import { parseCatalog } from '../src/index.js';

const plan = (credit: string) => `features: { a: { kind: boolean } }
plans: { p: { versions: [{ version: 1, published_at: "2026-01-01T00:00:00Z",
  credits: [${credit}] }] } }`;

function refusal(text: string): { field: string | undefined; message: string } {
  try {
    parseCatalog(text);
  } catch (error) {
    if (!isTollgateError(error)) throw error;
    return { field: error.field, message: error.message };
  }
  throw new Error('expected the catalog to be refused');
}

describe('catalog ledger settings', () => {
  it('reads a soft currency overage cap and a micro-unit display scale', () => {
    const catalog = parseCatalog(`schema_version: 1
currencies:
  soft: { behavior: soft, overage_cap: 50 }
  micro: { display_scale: 6 }
${plan('')}`);
    expect(catalog.currencies.get('soft')).toMatchObject({
      behavior: 'soft',
      overageCapAmount: 50,
    });
    expect(catalog.currencies.get('micro')).toMatchObject({
      displayScale: 6,
      behavior: 'hard',
      overageCapAmount: null,
    });
  });

  it('refuses an overage cap on a hard currency, naming the field', () => {
    const text = `schema_version: 1\ncurrencies: { c: { overage_cap: 5 } }\n${plan('')}`;
    expect(refusal(text)).toEqual({
      field: 'currencies.c.overage_cap',
      message: 'currencies.c.overage_cap: only for a soft currency',
    });
  });

  it('refuses a negative or fractional overage cap', () => {
    const text = `schema_version: 1\ncurrencies: { c: { behavior: soft, overage_cap: 1.5 } }
${plan('')}`;
    expect(refusal(text).field).toBe('currencies.c.overage_cap');
  });

  it('reads a recurring grant rollover cap, null when absent', () => {
    const catalog = parseCatalog(`schema_version: 1\ncurrencies: { c: {} }
${plan(`{ currency: c, amount: 100, category: paid, rollover_max: 40 },
  { currency: c, amount: 5, category: promotional }`)}`);
    const grants = catalog.plans.get('p')!.versions[0]!.recurringGrants;
    expect(grants.map((grant) => grant.rolloverMax)).toEqual([40, null]);
  });

  it('refuses a rollover on a grant that never expires', () => {
    const text = `schema_version: 1\ncurrencies: { c: {} }
${plan('{ currency: c, amount: 100, category: paid, expires: never, rollover_max: 40 }')}`;
    expect(refusal(text)).toEqual({
      field: 'plans.p.versions[0].credits[0].rollover_max',
      message: 'plans.p.versions[0].credits[0].rollover_max: only with expires: period_end',
    });
  });
});
