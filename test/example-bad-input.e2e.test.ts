import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../examples/ai-assistant/src/harness.js';
import { startDemoServers, type DemoServers } from '../examples/ai-assistant/src/servers.js';

const directory = mkdtempSync(join(tmpdir(), 'tollgate-bad-input-'));
let servers: DemoServers;
let admin: HttpClient;
let app: HttpClient;

beforeAll(async () => {
  servers = await startDemoServers({ databasePath: join(directory, 'tollgate.sqlite') });
  admin = new HttpClient(servers.controlPlaneUrl, {
    authorization: `Bearer ${servers.adminKey}`,
  });
  app = new HttpClient(servers.appUrl, { 'tollgate-customer': 'ana' });
  await admin.send('POST', '/v1/customers', { body: { id: 'ana' } });
  await admin.send('POST', '/v1/customers/ana/subscriptions', { body: { plan: 'free' } });
  await servers.tollgate.refresh();
});

afterAll(async () => {
  await servers.close();
  rmSync(directory, { recursive: true, force: true });
});

async function tokensUsed(): Promise<number> {
  await servers.tollgate.flush();
  const usage = await admin.send('GET', '/v1/customers/ana/usage?feature=api_tokens');
  return usage.body.used as number;
}

describe('the example app refuses bad quantities', () => {
  it.each([
    ['negative', -1, '-1'],
    ['fractional', 1.5, '1.5'],
    ['above 2^53 - 1', 2 ** 53, '9007199254740992'],
    ['a numeric string', '12', '"12"'],
    ['not a number', 'many', '"many"'],
    ['missing', undefined, 'undefined'],
  ])('answers 400 naming the field for a %s token count', async (_label, tokens, shown) => {
    const answer = await app.send('POST', '/complete', { body: { tokens } });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      code: 'TOLLGATE_ERR_INVALID_QUANTITY',
      message: `tokens: expected an integer from 0 to 2^53 - 1, received ${shown}`,
      field: 'tokens',
    });
  });

  it('charges nothing for refused requests and meters a valid one exactly', async () => {
    expect(await tokensUsed()).toBe(0);
    const answer = await app.send('POST', '/complete', { body: { tokens: 1234 } });
    expect(answer.status).toBe(200);
    expect(await tokensUsed()).toBe(1234);
  });

  it('answers 401 with a coded body when the customer header is missing', async () => {
    const anonymous = new HttpClient(servers.appUrl);
    const answer = await anonymous.send('POST', '/chat/fast', { body: {} });
    expect(answer.status).toBe(401);
    expect(answer.body.code).toBe('TOLLGATE_ERR_MISSING_CUSTOMER');
  });
});
