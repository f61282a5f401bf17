import { afterEach, describe, expect, it } from 'vitest';
import { periodEndMs, snapshotInput, startMs } from './helpers/fixtures.js';
import { evaluatorKinds, startHarness } from './helpers/harness.js';
import type { Harness } from './helpers/harness.js';
import type { TollgateOptions } from '../src/index.js';

/** Snapshot `version` in which every customer's next change is a month later. */
function movedOn(version: number) {
  const input = snapshotInput(version);
  const laterMs = Date.UTC(2026, 4, 1);
  return { ...input, customers: input.customers.map((c) => ({ ...c, nextChangeAtMs: laterMs })) };
}

describe.each(evaluatorKinds)('stale entries and policies (%s evaluator)', (evaluator) => {
  let harness: Harness;
  const start = async (options: Partial<TollgateOptions> = {}) => {
    harness = await startHarness({ evaluator, ...options });
    return harness;
  };
  afterEach(async () => {
    await harness.stop();
  });

  it('denies stale_snapshot from the next change instant on, until a later snapshot', async () => {
    const { tollgate, clock, stub } = await start();
    clock.set(periodEndMs - 1);
    expect(tollgate.consume('cus_pro', 'api_calls').reasonName).toBe('allowed');

    clock.set(periodEndMs);
    expect(tollgate.check('cus_pro', 'export_pdf').reasonName).toBe('stale_snapshot');
    const consumed = tollgate.consume('cus_pro', 'api_calls');
    expect([consumed.allowed, consumed.reasonName, consumed.cost]).toEqual([
      false,
      'stale_snapshot',
      0,
    ]);
    const reserved = tollgate.reserve('cus_pro', 'image_generate', 1);
    expect([reserved.decision.reasonName, reserved.reservation]).toEqual(['stale_snapshot', null]);
    // The same snapshot again (304) does not end the doubt.
    expect(await tollgate.refresh()).toBe(false);
    expect(tollgate.check('cus_pro', 'export_pdf').reasonName).toBe('stale_snapshot');

    stub.serve(() => movedOn(2));
    expect(await tollgate.refresh()).toBe(true);
    expect(tollgate.check('cus_pro', 'export_pdf').reasonName).toBe('allowed');
    expect(tollgate.reserve('cus_pro', 'image_generate', 1).decision.remaining).toBe(98);
  });

  it('applies the feature’s whenStale, then whenEntryStale, to a stale entry', async () => {
    const { tollgate, clock } = await start({
      whenEntryStale: 'allow',
      features: { api_calls: { whenStale: 'deny' } },
    });
    clock.set(periodEndMs);
    expect(tollgate.consume('cus_pro', 'api_calls').reasonName).toBe('stale_snapshot');
    const pdf = tollgate.consume('cus_pro', 'image_generate', 5);
    expect([pdf.reasonName, pdf.remaining]).toEqual(['allowed', 90]);
  });

  it('holds nothing on reserve when a stale snapshot’s policy denies', async () => {
    const { tollgate, clock, stub } = await start({
      features: {
        image_generate: {
          whenStale: { ask: { timeoutMs: 50, otherwise: 'deny' } },
          maxAgeMs: 1000,
        },
      },
    });
    clock.set(startMs + 1001);
    const reserved = tollgate.reserve('cus_pro', 'image_generate', 10);
    expect([reserved.decision.reasonName, reserved.reservation]).toEqual(['stale_snapshot', null]);
    // chat_message shares the credits balance and is not stale-denied: nothing is held.
    expect(tollgate.check('cus_pro', 'chat_message', 100).remaining).toBe(100);
    expect(tollgate.check('cus_pro', 'chat_message', 101).reasonName).toBe('insufficient_credits');
    await tollgate.flush();
    expect(stub.usageRequests).toBe(0);
  });

  it('reserves for an unknown customer only when whenUnknownCustomer allows', async () => {
    const { tollgate, stub } = await start({
      features: { image_generate: { whenUnknownCustomer: 'allow' } },
    });
    const denied = tollgate.reserve('cus_nobody', 'chat_message', 3);
    expect([denied.decision.reasonName, denied.reservation]).toEqual(['unknown_customer', null]);

    const { decision, reservation } = tollgate.reserve('cus_nobody', 'image_generate', 3);
    expect([decision.allowed, decision.reasonName, decision.remaining]).toEqual([
      true,
      'allowed',
      null,
    ]);
    expect(reservation?.quantity).toBe(3);
    expect(tollgate.settle(reservation!, 2)).toEqual({
      charged: 0,
      cost: 0,
      outcome: 'settled',
      shortfall: 0,
    });
    await tollgate.flush();
    expect(stub.usageRequests).toBe(0);
  });
});
