import diagnosticsChannel from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelNames, createTollgate } from '@tollgate/runtime';
import type { Tollgate } from '@tollgate/runtime';
import { admin, startControlPlane } from './processes/spawn.js';
import type { Child } from './processes/spawn.js';

// One control-plane process with a 200 ms heartbeat; the runtime lives in this process.
const directory = mkdtempSync(join(tmpdir(), 'tollgate-stream-'));
let plane: Child & { url: string };
let tollgate: Tollgate | undefined;

beforeAll(async () => {
  plane = await startControlPlane({
    TG_DATABASE: join(directory, 'tollgate.sqlite'),
    TG_HEARTBEAT_MS: '200',
  });
  await admin(plane.url, 'POST', '/v1/customers', { id: 'paper' });
  await admin(plane.url, 'POST', '/v1/customers/paper/subscriptions', { plan: 'pro' });
});

afterAll(async () => {
  if (plane.process.pid !== undefined) process.kill(plane.process.pid, 'SIGCONT');
  await tollgate?.close().catch(() => undefined);
  await plane.kill();
  rmSync(directory, { recursive: true, force: true });
});

/** Resolves with the next message on `channel` that `test` accepts. */
function nextMessage(
  channel: string,
  test: (message: Record<string, unknown>) => boolean = () => true,
): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (!test(message as Record<string, unknown>)) return;
      diagnosticsChannel.unsubscribe(channel, onMessage);
      resolve(message as Record<string, unknown>);
    };
    diagnosticsChannel.subscribe(channel, onMessage);
  });
}

describe('the snapshot stream against a control-plane process', () => {
  it('sends a heartbeat carrying the current version at its interval', async () => {
    const snapshot = await fetch(`${plane.url}/v1/snapshot`, {
      headers: { authorization: 'Bearer tg_runtime_process' },
    });
    const version = Number(snapshot.headers.get('tollgate-snapshot-version'));
    await snapshot.arrayBuffer();
    const abort = new AbortController();
    const stream = await fetch(`${plane.url}/v1/snapshot/stream`, {
      headers: { authorization: 'Bearer tg_runtime_process' },
      signal: abort.signal,
    });
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of stream.body!) {
      text += decoder.decode(chunk, { stream: true });
      if (text.split('event: heartbeat').length > 3) break;
    }
    abort.abort();
    const events = text.split('\n\n').filter((block) => block.startsWith('event:'));
    expect(events.slice(0, 3)).toEqual([
      `event: snapshot\ndata: {"version":${version}}`,
      `event: heartbeat\ndata: {"version":${version}}`,
      `event: heartbeat\ndata: {"version":${version}}`,
    ]);
  });

  it('goes stale when the paused plane falls silent, and fresh again once it resumes', async () => {
    tollgate = await createTollgate({
      controlPlaneUrl: plane.url,
      apiKey: 'tg_runtime_process',
      refreshIntervalMs: 0,
      streamSilenceMs: 1000,
      features: { export_pdf: { whenStale: 'deny', maxAgeMs: 1500 } },
    });
    await nextMessage(channelNames.streamEvent, (message) => message['version'] !== undefined);
    expect(tollgate.check('paper', 'export_pdf').reasonName).toBe('allowed');

    const silent = nextMessage(channelNames.streamFailed, (message) =>
      String((message['error'] as Error).message).startsWith('the stream sent nothing'),
    );
    process.kill(plane.process.pid!, 'SIGSTOP');
    await silent;
    // Heartbeats stopped at least 1,000 ms ago; wait out the rest of the 1,500 ms bound.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(tollgate.check('paper', 'export_pdf').reasonName).toBe('stale_snapshot');

    const confirmed = nextMessage(channelNames.streamEvent);
    process.kill(plane.process.pid!, 'SIGCONT');
    await confirmed;
    expect(tollgate.check('paper', 'export_pdf').reasonName).toBe('allowed');
  });
});
