import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isTollgateError } from '@tollgate/core';
import { loadCatalogFile, parseCatalog } from '../src/index.js';

const quillstonePath = fileURLToPath(
  new URL('../../../examples/ai-assistant/catalog.yaml', import.meta.url),
);

const minimal = (body: string): string => `schema_version: 1\ncurrencies: { credits: {} }\n${body}`;

function refusal(text: string): { field: string | undefined; message: string } {
  try {
    parseCatalog(text);
  } catch (error) {
    if (!isTollgateError(error)) throw error;
    expect(error.code).toBe('TOLLGATE_ERR_CATALOG_INVALID');
    return { field: error.field, message: error.message };
  }
  throw new Error('expected the catalog to be refused');
}

describe('loadCatalogFile', () => {
  it('reads the Quillstone catalog with its features in file order', () => {
    const catalog = loadCatalogFile(quillstonePath);
    expect([...catalog.features.keys()]).toEqual([
      'export_pdf',
      'sso',
      'max_projects',
      'chat.fast',
      'chat.smart',
      'image.generate',
      'api_tokens',
      'seats',
    ]);
    expect(catalog.features.get('chat.smart')).toMatchObject({ currency: 'ai_credits', cost: 5 });
    expect(catalog.features.get('sso')?.requiresSeat).toBe(true);
  });

  it('keeps every plan version with its own limits and monthly credits', () => {
    const pro = loadCatalogFile(quillstonePath).plans.get('pro')!;
    expect(pro.versions.map((version) => version.version)).toEqual([1, 2]);
    expect(pro.versions[0]!.entitlements.get('max_projects')?.limit).toBe(50);
    expect(pro.versions[1]!.entitlements.get('max_projects')?.limit).toBeNull();
    expect(pro.versions[1]!.publishedAtMs).toBe(Date.parse('2026-03-01T12:00:00Z'));
    expect(pro.versions[0]!.recurringGrants[0]).toMatchObject({ amount: 2000, category: 'paid' });
    expect(pro.versions[1]!.recurringGrants[0]?.amount).toBe(2500);
  });

  it('reads add-ons and trials', () => {
    const catalog = loadCatalogFile(quillstonePath);
    expect(catalog.addons.get('extra_projects_25')?.entitlements.get('max_projects')).toEqual({
      rule: 'sum',
      limit: 25,
    });
    expect(catalog.addons.get('credit_pack_1000')?.grant).toMatchObject({
      amount: 1000,
      expiresAfterMonths: 12,
    });
    expect(catalog.trials.get('pro_trial')).toEqual({
      key: 'pro_trial',
      plan: 'pro',
      days: 14,
      fallbackPlan: 'free',
    });
  });

  it('refuses a missing file with a coded error', () => {
    expect(() => loadCatalogFile('/nonexistent/catalog.yaml')).toThrow(/cannot read catalog/);
  });
});

describe('parseCatalog refusals name the field', () => {
  it('refuses a negative limit in a later plan version', () => {
    const text = minimal(`features: { max_projects: { kind: config } }
plans:
  pro:
    versions:
      - { version: 1, published_at: "2026-01-01T00:00:00Z" }
      - version: 2
        published_at: "2026-02-01T00:00:00Z"
        entitlements: { max_projects: { limit: -1 } }`);
    expect(refusal(text)).toEqual({
      field: 'plans.pro.versions[1].entitlements.max_projects.limit',
      message:
        'plans.pro.versions[1].entitlements.max_projects.limit: expected a non-negative integer',
    });
  });

  it('refuses a fractional credit cost, quoting a key that holds a dot', () => {
    const text = minimal(`features: { chat.fast: { kind: credits, currency: credits, cost: 1.5 } }
plans: {}`);
    expect(refusal(text).field).toBe('features["chat.fast"].cost');
  });

  it('refuses an entitlement for a feature the catalog lacks', () => {
    const text = minimal(`features: { a: { kind: boolean } }
plans: { p: { versions: [{ version: 1, published_at: "2026-01-01T00:00:00Z",
  entitlements: { b: true } }] } }`);
    expect(refusal(text)).toEqual({
      field: 'plans.p.versions[0].entitlements.b',
      message: 'plans.p.versions[0].entitlements.b: unknown feature "b"',
    });
  });

  it('refuses a credits feature whose currency is not declared', () => {
    const text = minimal(`features: { chat: { kind: credits, currency: gold, cost: 1 } }
plans: {}`);
    expect(refusal(text).message).toBe('features.chat.currency: unknown currency "gold"');
  });

  it('refuses a trial that falls back to a missing plan', () => {
    const text = minimal(`features: { a: { kind: boolean } }
plans: { p: { versions: [{ version: 1, published_at: "2026-01-01T00:00:00Z" }] } }
trials: { t: { plan: p, days: 14, fallback_plan: nope } }`);
    expect(refusal(text).field).toBe('trials.t.fallback_plan');
  });

  it('refuses versions out of order', () => {
    const text = minimal(`features: { a: { kind: boolean } }
plans: { p: { versions: [{ version: 2, published_at: "2026-01-01T00:00:00Z" },
  { version: 1, published_at: "2026-02-01T00:00:00Z" }] } }`);
    expect(refusal(text).field).toBe('plans.p.versions[1].version');
  });

  it('refuses an unknown feature kind and an unknown top-level key', () => {
    expect(refusal(minimal('features: { a: { kind: magic } }\nplans: {}')).field).toBe(
      'features.a.kind',
    );
    expect(refusal(minimal('features: {}\nplans: {}\nextra: 1')).field).toBe('');
  });

  it('refuses an instant without a time zone', () => {
    const text = minimal(`features: { a: { kind: boolean } }
plans: { p: { versions: [{ version: 1, published_at: "2026-01-01T00:00:00" }] } }`);
    expect(refusal(text).field).toBe('plans.p.versions[0].published_at');
  });

  it('refuses text that is not YAML, naming the line', () => {
    expect(refusal('schema_version: 1\nfeatures: [1\n').message).toMatch(
      /^catalog: not valid YAML at line 3/,
    );
  });
});
