import diagnosticsChannel from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { channelNames } from '../src/index.js';
import { periodEndMs, startMs } from './helpers/fixtures.js';
import { evaluatorKinds, startHarness } from './helpers/harness.js';
import type { Harness } from './helpers/harness.js';

describe.each(evaluatorKinds)('settle reporting and decision figures (%s evaluator)', (kind) => {
  let harness: Harness;
  afterEach(async () => {
    await harness.stop();
  });

  it('publishes the shortfall of a settle beyond what a hard balance covers', async () => {
    harness = await startHarness({ evaluator: kind });
    const { tollgate } = harness;
    const published: unknown[] = [];
    const onMessage = (message: unknown) => published.push(message);
    diagnosticsChannel.subscribe(channelNames.settleShortfall, onMessage);
    try {
      const { reservation } = tollgate.reserve('cus_pro', 'image_generate', 10);
      // 60 images cost 120 credits; the balance of 100 covers 50 of them.
      expect(tollgate.settle(reservation!, 60)).toEqual({
        charged: 50,
        cost: 100,
        outcome: 'settled',
        shortfall: 10,
      });
      expect(tollgate.settle(reservation!, 60).outcome).toBe('already_settled');
    } finally {
      diagnosticsChannel.unsubscribe(channelNames.settleShortfall, onMessage);
    }
    expect(published).toEqual([
      {
        runtimeId: 'rt_test',
        id: 'rt_test:r1',
        customer: 'cus_pro',
        feature: 'image_generate',
        actual: 60,
        charged: 50,
        shortfall: 10,
      },
    ]);
  });

  it('stamps a settled hold’s usage event at the reserve instant, not the settle', async () => {
    harness = await startHarness({ evaluator: kind });
    const { tollgate, clock, stub } = harness;
    clock.set(periodEndMs - 1000);
    const { reservation } = tollgate.reserve('cus_pro', 'api_calls', 5);
    clock.set(periodEndMs + 60_000);
    expect(tollgate.settle(reservation!, 3).charged).toBe(3);
    await tollgate.flush();
    // The hold was decided in March: the control plane counts it in March's period.
    expect(stub.accepted.map((event) => [event.quantity, event.time])).toEqual([
      [3, periodEndMs - 1000],
    ]);
  });

  it('carries the customer’s figures from the snapshot in a stale_snapshot denial', async () => {
    harness = await startHarness({
      evaluator: kind,
      features: { api_calls: { whenStale: 'deny', maxAgeMs: 1000 } },
    });
    const { tollgate, clock } = harness;
    tollgate.consume('cus_pro', 'api_calls', 7);
    clock.set(startMs + 1001);
    expect(tollgate.consume('cus_pro', 'api_calls', 1)).toMatchObject({
      allowed: false,
      reasonName: 'stale_snapshot',
      limit: 100,
      used: 7,
      remaining: 93,
      cost: 0,
      resetAtMs: periodEndMs,
    });
  });
});
