import diagnosticsChannel from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { channelNames } from '../src/index.js';
import { reconnectDelayOf } from '../src/snapshot-stream.js';
import { snapshotInput } from './helpers/fixtures.js';
import { startHarness } from './helpers/harness.js';
import type { Harness } from './helpers/harness.js';

/** Resolves with the first `count` messages published on `channel` from now on. */
function messages(channel: string, count: number): Promise<Record<string, unknown>[]> {
  const seen: Record<string, unknown>[] = [];
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      seen.push(message as Record<string, unknown>);
      if (seen.length < count) return;
      diagnosticsChannel.unsubscribe(channel, onMessage);
      resolve(seen);
    };
    diagnosticsChannel.subscribe(channel, onMessage);
  });
}

describe('snapshot freshness with the stream open', () => {
  let harness: Harness;
  // Long enough that no connection goes silent in the tests that do not want it to.
  const start = async (streamSilenceMs = 10_000) => {
    harness = await startHarness({
      stream: true,
      streamSilenceMs,
      random: () => 0,
      features: { export_pdf: { whenStale: 'deny', maxAgeMs: 1000 } },
    });
    await harness.stub.streamsReach(1);
    return harness;
  };
  afterEach(async () => {
    await harness.stop();
  });

  it('counts the snapshot fresh only up to the last heartbeat at the version held', async () => {
    const { tollgate, clock, stub } = await start();
    clock.advance(1001);
    // The connection is open, yet nothing confirmed the snapshot for 1,001 ms.
    expect(tollgate.check('cus_pro', 'export_pdf').reasonName).toBe('stale_snapshot');

    const pushed = messages(channelNames.streamEvent, 1);
    stub.push('heartbeat', { version: 1 });
    expect(await pushed).toEqual([{ runtimeId: 'rt_test', version: 1, heldVersion: 1 }]);
    expect(tollgate.check('cus_pro', 'export_pdf').reasonName).toBe('allowed');
    clock.advance(1000);
    expect(tollgate.check('cus_pro', 'export_pdf').reasonName).toBe('allowed');
    clock.advance(1);
    expect(tollgate.check('cus_pro', 'export_pdf').reasonName).toBe('stale_snapshot');
  });

  it('goes stale while connected when the pushed version cannot be fetched', async () => {
    const { tollgate, clock, stub } = await start();
    stub.serve(() => snapshotInput(2));
    stub.snapshotFailures.push(503, 503, 503);
    const failed = messages(channelNames.streamFailed, 3);
    stub.push('heartbeat', { version: 2 });
    const errors = (await failed).map((message) => (message['error'] as Error).message);
    expect(errors).toEqual(Array(3).fill('GET /v1/snapshot answered 503'));
    clock.advance(1001);
    expect(tollgate.snapshotVersion).toBe(1);
    expect(tollgate.check('cus_pro', 'export_pdf').reasonName).toBe('stale_snapshot');

    const loaded = messages(channelNames.snapshotLoaded, 1);
    stub.push('heartbeat', { version: 2 });
    await loaded;
    expect(tollgate.snapshotVersion).toBe(2);
    expect(tollgate.check('cus_pro', 'export_pdf').reasonName).toBe('allowed');
  });

  it('drops a connection silent past streamSilenceMs and reconnects after jitter', async () => {
    const { stub } = await start(300);
    const failed = messages(channelNames.streamFailed, 1);
    const reconnect = messages(channelNames.streamReconnect, 1);
    const [failure] = await failed;
    expect(failure!['error']).toMatchObject({
      code: 'TOLLGATE_ERR_SNAPSHOT_STREAM',
      message: 'the stream sent nothing for 300 ms',
    });
    // One failure after a working connection: cap 2 × 250 ms, random 0 → half of it.
    expect(await reconnect).toEqual([{ runtimeId: 'rt_test', failures: 1, delayMs: 250 }]);
    await stub.streamsReach(2);
    expect(stub.streamsOpened).toBe(2);
  });
});

describe('reconnectDelayOf', () => {
  it('spreads each wait over [cap / 2, cap) with cap = base × 2^failures', () => {
    expect(reconnectDelayOf(250, 0, () => 0)).toBe(125);
    expect(reconnectDelayOf(250, 0, () => 0.5)).toBe(187);
    expect(reconnectDelayOf(250, 1, () => 0.999)).toBe(499);
    expect(reconnectDelayOf(250, 4, () => 0)).toBe(2000);
    expect(reconnectDelayOf(250, 4, () => 0.999)).toBe(3998);
  });
});
