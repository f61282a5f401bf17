import diagnosticsChannel from 'node:diagnostics_channel';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { channelNames } from '../src/index.js';
import { snapshotInput } from './helpers/fixtures.js';
import { evaluatorKinds, startHarness } from './helpers/harness.js';
import type { Harness } from './helpers/harness.js';

describe.each(evaluatorKinds)('reservations (%s evaluator)', (evaluator) => {
  let harness: Harness;
  beforeEach(async () => {
    harness = await startHarness({ evaluator, reservationTtlMs: 60_000 });
  });
  afterEach(async () => {
    await harness.stop();
  });

  it('holds the estimate so that no one else can spend it', () => {
    const { tollgate } = harness;
    const { decision, reservation } = tollgate.reserve('cus_pro', 'image_generate', 40);
    expect(decision).toMatchObject({ allowed: true, cost: 80, remaining: 20 });
    expect(reservation).toMatchObject({ customer: 'cus_pro', quantity: 40 });
    expect(tollgate.check('cus_pro', 'image_generate', 11).reasonName).toBe('insufficient_credits');
  });

  it('returns no reservation when the hold is denied', () => {
    const result = harness.tollgate.reserve('cus_pro', 'image_generate', 51);
    expect(result.reservation).toBeNull();
    expect(result.decision.reasonName).toBe('insufficient_credits');
  });

  it('settles the actual quantity once and reports it as one usage event', async () => {
    const { tollgate, stub } = harness;
    const { reservation } = tollgate.reserve('cus_pro', 'image_generate', 10, {
      idempotencyKey: 'job-7',
    });
    expect(tollgate.settle(reservation!, 4)).toEqual({
      charged: 4,
      cost: 8,
      outcome: 'settled',
      shortfall: 0,
    });
    expect(tollgate.settle(reservation!, 4)).toEqual({
      charged: 0,
      cost: 0,
      outcome: 'already_settled',
      shortfall: 0,
    });
    expect(tollgate.release(reservation!)).toBe('already_settled');
    expect(tollgate.check('cus_pro', 'image_generate').remaining).toBe(92);
    await tollgate.flush();
    expect(stub.accepted).toEqual([expect.objectContaining({ key: 'job-7', quantity: 4 })]);
  });

  it('releases once, and a settle after the release charges nothing', async () => {
    const { tollgate, stub } = harness;
    const { reservation } = tollgate.reserve('cus_pro', 'image_generate', 10);
    expect(tollgate.release(reservation!)).toBe('released');
    expect(tollgate.release(reservation!)).toBe('already_released');
    expect(tollgate.settle(reservation!, 10)).toEqual({
      charged: 0,
      cost: 0,
      outcome: 'already_released',
      shortfall: 0,
    });
    expect(tollgate.check('cus_pro', 'image_generate').remaining).toBe(100);
    await tollgate.flush();
    expect(stub.usageRequests).toBe(0);
  });

  it('returns the first reservation for a repeated idempotency key', () => {
    const { tollgate } = harness;
    const first = tollgate.reserve('cus_pro', 'image_generate', 10, { idempotencyKey: 'k1' });
    const again = tollgate.reserve('cus_pro', 'image_generate', 10, { idempotencyKey: 'k1' });
    expect(again.reservation).toBe(first.reservation);
    expect(tollgate.check('cus_pro', 'image_generate').remaining).toBe(80);
  });

  it('releases a hold by itself once its TTL has passed', () => {
    const { tollgate, clock } = harness;
    const expired: unknown[] = [];
    const onExpired = (message: unknown): void => {
      expired.push(message);
    };
    diagnosticsChannel.subscribe(channelNames.reservationExpired, onExpired);
    const { reservation } = tollgate.reserve('cus_pro', 'image_generate', 30);
    clock.advance(59_999);
    expect(tollgate.check('cus_pro', 'image_generate').remaining).toBe(40);
    clock.advance(1);
    expect(tollgate.check('cus_pro', 'image_generate').remaining).toBe(100);
    diagnosticsChannel.unsubscribe(channelNames.reservationExpired, onExpired);
    expect(expired).toEqual([expect.objectContaining({ id: reservation!.id })]);
    expect(tollgate.release(reservation!)).toBe('expired');
    expect(tollgate.settle(reservation!, 30).charged).toBe(0);
  });

  it('refuses a settle after expiry with a coded error and charges nothing', () => {
    const { tollgate, clock } = harness;
    const { reservation } = tollgate.reserve('cus_pro', 'image_generate', 30);
    clock.advance(60_000);
    expect(() => tollgate.settle(reservation!, 5)).toThrow(
      expect.objectContaining({ code: 'TOLLGATE_ERR_RESERVATION_EXPIRED' }),
    );
    expect(tollgate.check('cus_pro', 'image_generate').remaining).toBe(100);
  });

  it('holds 10 of 100, settles 4 to 96 once, and releases a second hold back to 96', async () => {
    const { tollgate, stub } = harness;
    const first = tollgate.reserve('cus_pro', 'chat_message', 10);
    expect(first.decision.remaining).toBe(90);
    expect(tollgate.settle(first.reservation!, 4).outcome).toBe('settled');
    expect(tollgate.settle(first.reservation!, 4).outcome).toBe('already_settled');
    expect(tollgate.settle(first.reservation!, 4).outcome).toBe('already_settled');
    expect(tollgate.check('cus_pro', 'chat_message').remaining).toBe(96);

    const second = tollgate.reserve('cus_pro', 'chat_message', 10);
    expect(tollgate.release(second.reservation!)).toBe('released');
    expect(tollgate.release(second.reservation!)).toBe('already_released');
    expect(tollgate.check('cus_pro', 'chat_message').remaining).toBe(96);
    await tollgate.flush();
    expect(stub.accepted).toEqual([expect.objectContaining({ quantity: 4 })]);
  });

  it('charges what a hard balance holds past the hold, and states the shortfall', () => {
    const { tollgate } = harness;
    const { reservation } = tollgate.reserve('cus_pro', 'chat_message', 10);
    expect(tollgate.settle(reservation!, 130)).toMatchObject({ charged: 100, shortfall: 30 });
    expect(tollgate.check('cus_pro', 'chat_message').remaining).toBe(0);
  });

  it('refuses a negative actual and a fractional or negative estimate, changing nothing', () => {
    const { tollgate } = harness;
    const { reservation } = tollgate.reserve('cus_pro', 'chat_message', 10);
    const invalid = expect.objectContaining({ code: 'TOLLGATE_ERR_INVALID_QUANTITY' });
    expect(() => tollgate.settle(reservation!, -1)).toThrow(invalid);
    expect(() => tollgate.reserve('cus_pro', 'chat_message', 1.5)).toThrow(invalid);
    expect(() => tollgate.reserve('cus_pro', 'chat_message', -2)).toThrow(invalid);
    expect(tollgate.check('cus_pro', 'chat_message').remaining).toBe(90);
    expect(tollgate.settle(reservation!, 3).outcome).toBe('settled');
  });

  it('places live holds again after a refresh', async () => {
    const { tollgate, stub } = harness;
    const { reservation } = tollgate.reserve('cus_pro', 'image_generate', 30);
    stub.serve(() => snapshotInput(2));
    await tollgate.refresh();
    expect(tollgate.check('cus_pro', 'image_generate').remaining).toBe(40);
    expect(tollgate.settle(reservation!, 30).charged).toBe(30);
    expect(tollgate.check('cus_pro', 'image_generate').remaining).toBe(40);
  });

  it('refuses an object that is not one of its reservations', () => {
    const forged = { id: 'x', customer: 'cus_pro', feature: 'f', quantity: 1, expiresAtMs: 0 };
    expect(() => harness.tollgate.release(forged)).toThrow(
      expect.objectContaining({ code: 'TOLLGATE_ERR_RESERVATION_NOT_FOUND' }),
    );
  });
});
