import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Reason } from '@tollgate/core';
import { periodEndMs } from './helpers/fixtures.js';
import { evaluatorKinds, startHarness } from './helpers/harness.js';
import type { Harness } from './helpers/harness.js';

describe.each(evaluatorKinds)('runtime decisions (%s evaluator)', (evaluator) => {
  let harness: Harness;
  beforeEach(async () => {
    harness = await startHarness({ evaluator });
  });
  afterEach(async () => {
    await harness.stop();
  });

  it('loads the first snapshot before createTollgate resolves', () => {
    expect(harness.tollgate.snapshotVersion).toBe(1);
    expect(harness.stub.snapshotRequests).toBe(1);
  });

  it('answers metered consumption with exact figures and denies the call past the limit', () => {
    const { tollgate } = harness;
    expect(tollgate.consume('cus_free', 'api_calls', 2)).toEqual({
      allowed: true,
      reason: Reason.Allowed,
      reasonName: 'allowed',
      limit: 3,
      used: 2,
      remaining: 1,
      cost: 2,
      resetAtMs: periodEndMs,
      snapshotVersion: 1,
    });
    expect(tollgate.consume('cus_free', 'api_calls').remaining).toBe(0);
    const denied = tollgate.consume('cus_free', 'api_calls');
    expect(denied).toMatchObject({ allowed: false, reasonName: 'limit_exceeded', used: 3 });
  });

  it('checks without recording anything', () => {
    const { tollgate } = harness;
    expect(tollgate.check('cus_free', 'api_calls', 3).allowed).toBe(true);
    expect(tollgate.check('cus_free', 'api_calls', 3).allowed).toBe(true);
    expect(tollgate.check('cus_free', 'api_calls', 4).reasonName).toBe('limit_exceeded');
  });

  it('charges credits at the cost per unit and reports the feature quantity', async () => {
    const { tollgate, stub } = harness;
    const decision = tollgate.consume('cus_pro', 'image_generate', 3);
    expect(decision).toMatchObject({ allowed: true, cost: 6, used: 6, remaining: 94 });
    await tollgate.flush();
    expect(stub.accepted.map((event) => [event.feature, event.quantity])).toEqual([
      ['image_generate', 3],
    ]);
  });

  it('reports no usage for boolean and config features', async () => {
    const { tollgate, stub } = harness;
    expect(tollgate.consume('cus_pro', 'export_pdf').allowed).toBe(true);
    expect(tollgate.consume('cus_pro', 'max_projects', 4).allowed).toBe(true);
    await tollgate.flush();
    expect(stub.usageRequests).toBe(0);
  });

  it('answers unknown_feature for a key the snapshot lacks, and unknown_customer first', () => {
    const { tollgate } = harness;
    expect(tollgate.check('cus_pro', 'no_such_feature').reasonName).toBe('unknown_feature');
    expect(tollgate.check('cus_nobody', 'no_such_feature').reasonName).toBe('unknown_customer');
    expect(tollgate.check('cus_free', 'export_pdf').reasonName).toBe('no_access');
  });

  it('refuses a fractional or negative quantity and a malformed customer with coded errors', () => {
    const { tollgate } = harness;
    expect(() => tollgate.consume('cus_pro', 'api_calls', 1.5)).toThrow(
      expect.objectContaining({ code: 'TOLLGATE_ERR_INVALID_QUANTITY', field: 'quantity' }),
    );
    expect(() => tollgate.check('cus_pro', 'api_calls', -1)).toThrow(
      expect.objectContaining({ code: 'TOLLGATE_ERR_INVALID_QUANTITY' }),
    );
    expect(() => tollgate.consume('cus pro', 'api_calls')).toThrow(
      expect.objectContaining({ code: 'TOLLGATE_ERR_INVALID_IDENTIFIER', field: 'customer' }),
    );
    expect(tollgate.check('cus_free', 'api_calls', 3).allowed).toBe(true);
  });

  it('returns the first decision for a repeated idempotency key and records nothing', async () => {
    const { tollgate, stub } = harness;
    const first = tollgate.consume('cus_free', 'api_calls', 2, { idempotencyKey: 'req-1' });
    const again = tollgate.consume('cus_free', 'api_calls', 2, { idempotencyKey: 'req-1' });
    expect(again).toEqual(first);
    expect(tollgate.check('cus_free', 'api_calls').remaining).toBe(1);
    await tollgate.flush();
    expect(stub.accepted.map((event) => event.key)).toEqual(['req-1']);
  });

  it('refuses a key reused with another quantity or feature, deciding nothing', async () => {
    const { tollgate, stub } = harness;
    tollgate.consume('cus_free', 'api_calls', 1, { idempotencyKey: 'req-2' });
    const reuses = [
      () => tollgate.consume('cus_free', 'api_calls', 2, { idempotencyKey: 'req-2' }),
      () => tollgate.consume('cus_free', 'image_generate', 1, { idempotencyKey: 'req-2' }),
      () => tollgate.reserve('cus_free', 'api_calls', 1, { idempotencyKey: 'req-2' }),
    ];
    for (const reuse of reuses) {
      expect(reuse).toThrow(
        expect.objectContaining({
          code: 'TOLLGATE_ERR_IDEMPOTENCY_MISMATCH',
          field: 'idempotencyKey',
        }),
      );
    }
    expect(tollgate.check('cus_free', 'api_calls').remaining).toBe(2);
    await tollgate.flush();
    expect(stub.accepted.map((event) => event.key)).toEqual(['req-2']);
  });

  it('keys usage events it made up as <runtimeId>:<seq>, stamped at the decision', async () => {
    const { tollgate, stub, clock } = harness;
    tollgate.consume('cus_pro', 'api_calls');
    clock.advance(5_000);
    tollgate.consume('cus_pro', 'api_calls', 2);
    await tollgate.flush();
    expect(stub.accepted).toEqual([
      {
        key: 'rt_test:1',
        customer: 'cus_pro',
        feature: 'api_calls',
        quantity: 1,
        time: clock.now() - 5_000,
      },
      {
        key: 'rt_test:2',
        customer: 'cus_pro',
        feature: 'api_calls',
        quantity: 2,
        time: clock.now(),
      },
    ]);
  });
});

describe('createTollgate', () => {
  it('rejects with TOLLGATE_ERR_CONTROL_PLANE when no snapshot can be fetched', async () => {
    const harness = await startHarness();
    const url = harness.stub.url;
    await harness.stop();
    const { createTollgate } = await import('../src/index.js');
    await expect(
      createTollgate({
        controlPlaneUrl: url,
        apiKey: 'tg_test_runtime_key',
        evaluator: 'reference',
      }),
    ).rejects.toMatchObject({ code: 'TOLLGATE_ERR_CONTROL_PLANE' });
  });
});
