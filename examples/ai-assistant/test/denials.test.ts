import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../src/harness.js';
import { startDemoServers } from '../src/servers.js';
import type { DemoServers } from '../src/servers.js';

const frameworks = ['express', 'koa', 'nest'] as const;

/**
 * What every app answers for a model the catalog lacks, outside the OpenAI route. The
 * snapshot is the third: the catalog's, then one per change the set-up makes.
 */
const unknownFeature = {
  type: 'urn:tollgate:problem:unknown_feature',
  title: 'Unknown feature',
  status: 403,
  reason: 'unknown_feature',
  limit: null,
  used: 0,
  remaining: null,
  reset_at: null,
  snapshot_version: 3,
};

describe.each(frameworks)('denials of the %s assistant', (framework) => {
  let directory: string;
  let servers: DemoServers;
  let app: HttpClient;

  beforeEach(async () => {
    directory = mkdtempSync(join(tmpdir(), 'tollgate-denials-'));
    servers = await startDemoServers({ databasePath: join(directory, 'cp.sqlite'), framework });
    const admin = new HttpClient(servers.controlPlaneUrl, {
      authorization: `Bearer ${servers.adminKey}`,
    });
    await admin.send('POST', '/v1/customers', { body: { id: 'inkwell' } });
    await admin.send('POST', '/v1/customers/inkwell/subscriptions', { body: { plan: 'free' } });
    await servers.tollgate.refresh();
    app = new HttpClient(servers.appUrl, { 'tollgate-customer': 'inkwell' });
  });

  afterEach(async () => {
    await servers.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('answers a plain problem document on a route outside the OpenAI one', async () => {
    const answer = await app.send('POST', '/chat/huge', { body: { prompt: 'hi' } });
    expect(answer.status).toBe(403);
    expect(answer.body).toEqual(unknownFeature);
  });

  it("adds OpenAI's error member to the denials of the completions route", async () => {
    const answer = await app.send('POST', '/v1/chat/completions', {
      body: { model: 'huge', messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(answer.status).toBe(403);
    expect(answer.body).toEqual({
      ...unknownFeature,
      error: {
        message: unknownFeature.title,
        type: 'unknown_feature',
        code: 'unknown_feature',
        param: null,
      },
    });
  });
});
