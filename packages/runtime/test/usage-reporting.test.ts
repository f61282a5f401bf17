import diagnosticsChannel from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { channelNames } from '../src/index.js';
import { startHarness } from './helpers/harness.js';
import type { Harness } from './helpers/harness.js';

/** Collects what a diagnostics channel publishes until the test unsubscribes. */
function listen(name: string): { messages: unknown[]; stop: () => void } {
  const messages: unknown[] = [];
  const handler = (message: unknown): void => {
    messages.push(message);
  };
  diagnosticsChannel.subscribe(name, handler);
  return { messages, stop: () => diagnosticsChannel.unsubscribe(name, handler) };
}

describe('usage reporting', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  it('sends a batch as soon as maxEvents events are queued', async () => {
    harness = await startHarness({ batch: { maxEvents: 3, maxDelayMs: 3_600_000 } });
    const { tollgate, stub } = harness;
    for (let call = 0; call < 7; call++) tollgate.consume('cus_pro', 'api_calls');
    await stub.usageRequestsReach(2);
    expect(stub.batches.map((batch) => batch.length)).toEqual([3, 3]);
    expect(stub.batches.flat().map((event) => event.key)).toEqual([
      'rt_test:1',
      'rt_test:2',
      'rt_test:3',
      'rt_test:4',
      'rt_test:5',
      'rt_test:6',
    ]);
  });

  it('sends what is queued once maxDelayMs has passed since the first event', async () => {
    harness = await startHarness({ batch: { maxEvents: 500, maxDelayMs: 20 } });
    const { tollgate, stub } = harness;
    tollgate.consume('cus_pro', 'api_calls', 4);
    tollgate.consume('cus_pro', 'api_calls', 5);
    await stub.usageRequestsReach(1);
    expect(stub.batches).toHaveLength(1);
    expect(stub.total('cus_pro', 'api_calls')).toBe(9);
  });

  it('retries a batch after a 503 and delivers it once, in order', async () => {
    harness = await startHarness();
    const { tollgate, stub } = harness;
    const retries = listen(channelNames.usageRetry);
    stub.usageFailures.push(503, 503);
    tollgate.consume('cus_pro', 'api_calls', 1);
    tollgate.consume('cus_pro', 'api_calls', 2);
    await tollgate.flush();
    retries.stop();
    expect(stub.usageRequests).toBe(3);
    expect(retries.messages).toHaveLength(2);
    expect(stub.accepted.map((event) => event.quantity)).toEqual([1, 2]);
    expect(tollgate.usageStats).toMatchObject({ eventsAccepted: 2, eventsDuplicate: 0 });
  });

  it('drops a batch the control plane refuses with 400, counts it and says so', async () => {
    harness = await startHarness();
    const { tollgate, stub } = harness;
    const dropped = listen(channelNames.usageDropped);
    stub.usageFailures.push(400);
    tollgate.consume('cus_pro', 'api_calls', 1);
    await tollgate.flush();
    tollgate.consume('cus_pro', 'api_calls', 2);
    await tollgate.flush();
    dropped.stop();
    expect(stub.usageRequests).toBe(2);
    expect(stub.accepted.map((event) => event.quantity)).toEqual([2]);
    expect(tollgate.usageStats).toMatchObject({ eventsDropped: 1, batchesDropped: 1 });
    expect(dropped.messages).toEqual([
      expect.objectContaining({ runtimeId: 'rt_test', events: 1, keys: ['rt_test:1'] }),
    ]);
  });

  it('rejects a flush with TOLLGATE_ERR_CONTROL_PLANE after the attempts run out', async () => {
    harness = await startHarness({ retry: { baseDelayMs: 1, delayMaxMs: 2, attemptsMax: 2 } });
    const { tollgate, stub } = harness;
    stub.usageFailures.push(503, 503);
    tollgate.consume('cus_pro', 'api_calls', 1);
    await expect(tollgate.flush()).rejects.toMatchObject({ code: 'TOLLGATE_ERR_CONTROL_PLANE' });
    await tollgate.flush();
    expect(stub.accepted.map((event) => event.quantity)).toEqual([1]);
  });

  it('delivers every queued event on close()', async () => {
    harness = await startHarness();
    const { tollgate, stub } = harness;
    for (let call = 0; call < 5; call++) tollgate.consume('cus_pro', 'api_calls', call + 1);
    await tollgate.close();
    expect(stub.total('cus_pro', 'api_calls')).toBe(15);
    expect(() => tollgate.consume('cus_pro', 'api_calls')).toThrow(
      expect.objectContaining({ code: 'TOLLGATE_ERR_NOT_STARTED' }),
    );
  });

  it('refuses consumption with a coded 503 once bufferMax events wait unacknowledged', async () => {
    harness = await startHarness({ bufferMax: 2, batch: { maxEvents: 2, maxDelayMs: 3_600_000 } });
    const { tollgate, stub } = harness;
    const full = listen(channelNames.bufferFull);
    stub.usageFailures.push(503, 503, 503, 503, 503);
    tollgate.consume('cus_pro', 'api_calls');
    tollgate.consume('cus_pro', 'api_calls');
    expect(() => tollgate.consume('cus_pro', 'api_calls')).toThrow(
      expect.objectContaining({ code: 'TOLLGATE_ERR_USAGE_BUFFER_FULL', status: 503 }),
    );
    expect(tollgate.check('cus_pro', 'api_calls').used).toBe(2);
    expect(tollgate.usageStats).toMatchObject({
      eventsRefused: 1,
      eventsEvicted: 0,
      queueDepth: 2,
    });
    full.stop();
    expect(full.messages).toEqual([
      { runtimeId: 'rt_test', queued: 2, bufferMax: 2, policy: 'refuse' },
    ]);
    await stub.usageRequestsReach(5);
    await tollgate.flush();
    expect(tollgate.consume('cus_pro', 'api_calls').allowed).toBe(true);
    await tollgate.flush();
    expect(stub.total('cus_pro', 'api_calls')).toBe(3);
  });

  it('drops the oldest unsent event under drop_oldest, counts it, and keeps deciding', async () => {
    harness = await startHarness({
      bufferMax: 2,
      whenBufferFull: 'drop_oldest',
      batch: { maxEvents: 2, maxDelayMs: 3_600_000 },
    });
    const { tollgate, stub } = harness;
    const full = listen(channelNames.bufferFull);
    tollgate.consume('cus_pro', 'api_calls', 1);
    tollgate.consume('cus_pro', 'api_calls', 2);
    // Two queued, none in flight yet: the one of 1 goes to make room for the one of 4.
    expect(tollgate.consume('cus_pro', 'api_calls', 4).allowed).toBe(true);
    full.stop();
    expect(full.messages).toEqual([
      {
        runtimeId: 'rt_test',
        queued: 2,
        bufferMax: 2,
        policy: 'drop_oldest',
        dropped: 'rt_test:1',
      },
    ]);
    expect(tollgate.usageStats).toMatchObject({
      eventsEvicted: 1,
      eventsRefused: 0,
      queueDepth: 2,
    });
    await tollgate.flush();
    expect(stub.accepted.map((event) => [event.key, event.quantity])).toEqual([
      ['rt_test:2', 2],
      ['rt_test:3', 4],
    ]);
    expect(tollgate.usageStats.queueDepth).toBe(0);
  });

  it('refreshes with a full buffer, dropping and refusing nothing', async () => {
    harness = await startHarness({
      bufferMax: 2,
      whenBufferFull: 'drop_oldest',
      batch: { maxEvents: 2, maxDelayMs: 3_600_000 },
    });
    const { tollgate, stub } = harness;
    tollgate.consume('cus_pro', 'api_calls', 1);
    tollgate.consume('cus_pro', 'api_calls', 2);
    // A refresh records no usage: it must not make room by dropping the oldest event.
    await tollgate.refresh();
    expect(tollgate.usageStats).toMatchObject({ eventsEvicted: 0, eventsRefused: 0 });
    await tollgate.flush();
    expect(stub.total('cus_pro', 'api_calls')).toBe(3);
  });

  it('refuses an unknown whenBufferFull policy with a coded error naming it', async () => {
    await expect(startHarness({ whenBufferFull: 'drop_newest' as never })).rejects.toMatchObject({
      code: 'TOLLGATE_ERR_VALIDATION',
      field: 'whenBufferFull',
    });
  });

  it('jitters each retry delay within [0, min(delayMaxMs, base × 2^(n − 1))]', async () => {
    // Drawn in turn: 0, then just under 1, then a half, then just under 1 again.
    const draws = [0, 0.999, 0.5, 0.999];
    let drawn = 0;
    harness = await startHarness({
      random: () => draws[drawn++ % draws.length]!,
      retry: { baseDelayMs: 4, delayMaxMs: 20, attemptsMax: 6 },
    });
    const { tollgate, stub } = harness;
    const retries = listen(channelNames.usageRetry);
    stub.usageFailures.push(503, 503, 503, 503);
    tollgate.consume('cus_pro', 'api_calls', 1);
    await tollgate.flush();
    retries.stop();
    // Ceilings 4, 8, 16, 20 (capped): the draws place each delay at its bound or inside.
    const delays = retries.messages.map((message) => (message as { delayMs: number }).delayMs);
    expect(delays).toEqual([0, 8, 8, 20]);
    expect(stub.accepted).toHaveLength(1);
  });
});
