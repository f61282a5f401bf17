import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { APIError } from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../src/harness.js';
import { startDemoServers } from '../src/servers.js';
import type { DemoServers } from '../src/servers.js';

/**
 * Drives the assistant's `POST /v1/chat/completions` with the official `openai` client,
 * against the real control plane (SQLite in a temporary directory), on each of the three
 * example apps. The customer is on the free plan: 100 promotional credits, one per
 * `chat.fast` token.
 */
const frameworks = ['express', 'koa', 'nest'] as const;

describe.each(frameworks)('POST /v1/chat/completions on %s with the openai client', (framework) => {
  let directory: string;
  let servers: DemoServers;
  let client: OpenAI;
  let admin: HttpClient;

  beforeEach(async () => {
    directory = mkdtempSync(join(tmpdir(), 'tollgate-openai-'));
    servers = await startDemoServers({ databasePath: join(directory, 'cp.sqlite'), framework });
    admin = new HttpClient(servers.controlPlaneUrl, {
      authorization: `Bearer ${servers.adminKey}`,
    });
    await admin.send('POST', '/v1/customers', { body: { id: 'inkwell' } });
    await admin.send('POST', '/v1/customers/inkwell/subscriptions', { body: { plan: 'free' } });
    await servers.tollgate.refresh();
    client = new OpenAI({
      baseURL: `${servers.appUrl}/v1`,
      apiKey: 'sk-anything',
      defaultHeaders: { 'tollgate-customer': 'inkwell' },
      maxRetries: 0,
    });
  });

  afterEach(async () => {
    await servers.close();
    rmSync(directory, { recursive: true, force: true });
  });

  async function balance(): Promise<number> {
    await servers.tollgate.flush();
    const answer = await admin.send('GET', '/v1/customers/inkwell/balances');
    return answer.body.balances[0].balance as number;
  }

  const messages = [{ role: 'user' as const, content: 'Write a haiku about ink' }];

  it('answers a completion with its usage and charges its tokens', async () => {
    const reply = await client.chat.completions.create({ model: 'fast', messages });
    expect(reply.choices[0]!.message.content?.split(' ')).toHaveLength(12);
    expect(reply.usage).toEqual({ prompt_tokens: 5, completion_tokens: 12, total_tokens: 17 });
    expect(await balance()).toBe(83);
  });

  it('settles a streamed completion’s token count when the stream ends', async () => {
    const stream = await client.chat.completions.create({
      model: 'fast',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let totalTokens = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      totalTokens = chunk.usage?.total_tokens ?? totalTokens;
    }
    expect(text.split(' ')).toHaveLength(12);
    expect(totalTokens).toBe(17);
    expect(await balance()).toBe(100 - 17);
  });

  it('succeeds while credits last, then the client reads a 402 APIError', async () => {
    // Each completion holds 21 credits (5 prompt + 16 max_tokens) and settles 17: five
    // fit in 100 credits, and the sixth would need 21 of the 15 left.
    const statuses: number[] = [];
    let denial: APIError | null = null;
    for (let attempt = 0; attempt < 10 && denial === null; attempt += 1) {
      try {
        await client.chat.completions.create({ model: 'fast', messages });
        statuses.push(200);
      } catch (error) {
        if (!(error instanceof APIError)) throw error;
        denial = error;
      }
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(denial?.status).toBe(402);
    expect(denial?.error).toEqual({
      message: 'Insufficient credits',
      type: 'insufficient_credits',
      code: 'insufficient_credits',
      param: null,
    });
    expect(denial?.message).toBe('402 Insufficient credits');
    expect(await balance()).toBe(15);
  });

  it('denies a model the catalog lacks with a 403 the client can read', async () => {
    const error = await client.chat.completions
      .create({ model: 'huge', messages })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(403);
    expect((error as APIError).code).toBe('unknown_feature');
  });
});
