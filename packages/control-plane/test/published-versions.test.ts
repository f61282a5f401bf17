import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '@tollgate/catalog';
import { isTollgateError } from '@tollgate/core';
import { createControlPlane } from '../src/index.js';
import { testSchema } from './postgres-schema.js';

const v1 = `
      - version: 1
        published_at: "2025-01-01T00:00:00Z"
        entitlements: { api_calls: { limit: 100 } }`;
const v2 = `
      - version: 2
        published_at: "2025-06-01T00:00:00Z"
        entitlements: { api_calls: { limit: 200 } }`;
const catalogOf = (versions: string) =>
  parseCatalog(`schema_version: 1
features:
  api_calls: { kind: metered, reset: { every: month } }
plans:
  basic:
    versions:${versions}
`);

const directory = mkdtempSync(join(tmpdir(), 'tollgate-published-'));
const schema = testSchema('published');
afterAll(async () => {
  rmSync(directory, { recursive: true, force: true });
  await schema.drop();
});

describe.each([
  ['sqlite', { databasePath: join(directory, 'published.sqlite') }],
  ['postgres', { databaseUrl: schema.url }],
] as const)('published plan versions never change (%s)', (_kind, storage) => {
  /** Starts and closes a control plane on the shared database; returns the refusal, if any. */
  async function start(versions: string): Promise<{ code: string; field?: string } | null> {
    try {
      const plane = await createControlPlane({
        catalog: catalogOf(versions),
        ...storage,
        clock: () => Date.parse('2025-07-01T00:00:00Z'),
        logger: false,
        keys: [{ key: 'admin-published', role: 'admin' }],
      });
      await plane.close();
      return null;
    } catch (error) {
      if (!isTollgateError(error)) throw error;
      return { code: error.code, ...(error.field === undefined ? {} : { field: error.field }) };
    }
  }

  it('starts with v1, then with v2 added: publishing adds a version', async () => {
    expect(await start(v1)).toBeNull();
    expect(await start(v1 + v2)).toBeNull();
  });

  it('refuses a catalog that edits published v1, naming plans.basic.versions[0]', async () => {
    const edited = v1.replace('limit: 100', 'limit: 150');
    expect(await start(edited + v2)).toEqual({
      code: 'TOLLGATE_ERR_CATALOG_INVALID',
      field: 'plans.basic.versions[0]',
    });
  });

  it('still starts with the published versions after the refusal: nothing changed', async () => {
    expect(await start(v1 + v2)).toBeNull();
  });

  it('refuses a catalog without v2 once a subscription pins it, naming the versions', async () => {
    const plane = await createControlPlane({
      catalog: catalogOf(v1 + v2),
      ...storage,
      clock: () => Date.parse('2025-07-01T00:00:00Z'),
      logger: false,
      keys: [{ key: 'admin-published', role: 'admin' }],
    });
    const headers = { authorization: 'Bearer admin-published' };
    const post = (url: string, payload: object) =>
      plane.app.inject({ method: 'POST', url, headers, payload });
    expect((await post('/v1/customers', { id: 'pinned' })).statusCode).toBe(201);
    const subscribed = await post('/v1/customers/pinned/subscriptions', { plan: 'basic' });
    expect(subscribed.json()).toMatchObject({ plan: 'basic', version: 2 });
    await plane.close();

    expect(await start(v1)).toEqual({
      code: 'TOLLGATE_ERR_CATALOG_INVALID',
      field: 'plans.basic.versions',
    });
    // The refusal recorded nothing: the full catalog still starts, v1 alone still does not.
    expect(await start(v1 + v2)).toBeNull();
    expect(await start(v1)).toMatchObject({ field: 'plans.basic.versions' });
  });
});
