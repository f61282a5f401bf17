import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { adminKey, liveAdminKey, runtimeKey, startHarness } from './harness.js';
import type { Harness } from './harness.js';

const nowMs = Date.parse('2026-03-03T00:00:00Z');

describe('control plane: bad input changes nothing', () => {
  let harness: Harness;

  /** Everything a rejected request could have touched, to compare before and after. */
  async function state() {
    const balances = await harness.call('GET', '/v1/customers/acme/balances');
    const ledger = await harness.call('GET', '/v1/customers/acme/ledger?limit=1000');
    const usage = await harness.call('GET', '/v1/customers/acme/usage?feature=api_tokens');
    return { balances: balances.body, ledger: ledger.body, usage: usage.body };
  }

  beforeAll(async () => {
    harness = await startHarness('2026-03-01T00:00:00Z');
    await harness.call('POST', '/v1/customers', { id: 'acme' });
    await harness.call('POST', '/v1/customers/acme/subscriptions', { plan: 'pro' });
    harness.clock.set(nowMs);
  });
  afterAll(() => harness.close());

  const good = { key: 'ok-1', customer: 'acme', feature: 'chat.fast', quantity: 1, time: nowMs };
  const badQuantities: [string, unknown][] = [
    ['-1', -1],
    ['1.5', 1.5],
    ['"5"', '5'],
    ['2^53', 2 ** 53],
  ];

  for (const [label, quantity] of badQuantities) {
    it(`rejects quantity ${label} naming events[1].quantity`, async () => {
      const before = await state();
      const reply = await harness.postUsage([good, { ...good, key: 'bad', quantity }]);
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({
        code: 'TOLLGATE_ERR_USAGE_BATCH_INVALID',
        field: 'events[1].quantity',
      });
      expect(await state()).toEqual(before);
    });
  }

  it('rejects a body that is not msgpack', async () => {
    const before = await state();
    const garbage = new Uint8Array([0xc1, 0xff, 0x00, 0x12]);
    const reply = await harness.postRaw('/v1/usage', garbage, 'application/msgpack');
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ code: 'TOLLGATE_ERR_USAGE_BATCH_INVALID', field: 'body' });
    expect(await state()).toEqual(before);
  });

  it('rejects a batch of another schema version', async () => {
    const before = await state();
    const body = new Packr({ useRecords: false }).pack({ schema_version: 2, events: [good] });
    const reply = await harness.postRaw('/v1/usage', body, 'application/msgpack');
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ field: 'schema_version' });
    expect(await state()).toEqual(before);
  });

  it('rejects a whole batch when one event names an unknown feature', async () => {
    const before = await state();
    const reply = await harness.postUsage([good, { ...good, key: 'turbo', feature: 'chat.turbo' }]);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({
      code: 'TOLLGATE_ERR_USAGE_BATCH_INVALID',
      field: 'events[1].feature',
    });
    expect(await state()).toEqual(before);
  });

  it('rejects a whole batch when one event names an unknown customer', async () => {
    const before = await state();
    const reply = await harness.postUsage([good, { ...good, key: 'ghost', customer: 'ghost' }]);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ field: 'events[1].customer' });
    expect(await state()).toEqual(before);
  });

  it('rejects a grant of 1.5 credits naming amount', async () => {
    const before = await state();
    const reply = await harness.call('POST', '/v1/customers/acme/grants', {
      currency: 'ai_credits',
      amount: 1.5,
      category: 'paid',
      idempotency_key: 'g-1',
    });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ code: 'TOLLGATE_ERR_INVALID_QUANTITY', field: 'amount' });
    expect(await state()).toEqual(before);
  });

  it('answers 401 without a key and with an unknown key, changing nothing', async () => {
    const before = await state();
    for (const key of ['', 'not-a-key']) {
      const grant = await harness.call(
        'POST',
        '/v1/customers/acme/grants',
        { currency: 'ai_credits', amount: 5, category: 'paid', idempotency_key: 'g-401' },
        key,
      );
      expect(grant.status).toBe(401);
      const reply = await harness.call('GET', '/v1/customers/acme/balances', undefined, key);
      expect(reply.status).toBe(401);
      expect(reply.body).toEqual({
        code: 'TOLLGATE_ERR_UNAUTHENTICATED',
        message: expect.any(String),
      });
    }
    const usage = await harness.postUsage([good], '');
    expect(usage.status).toBe(401);
    expect(await state()).toEqual(before);
  });

  it('answers 403 when a runtime key calls an admin route, changing nothing', async () => {
    const before = await state();
    const reply = await harness.call('POST', '/v1/customers', { id: 'x' }, runtimeKey);
    expect(reply.status).toBe(403);
    expect(reply.body.code).toBe('TOLLGATE_ERR_FORBIDDEN');
    const grant = await harness.call(
      'POST',
      '/v1/customers/acme/grants',
      { currency: 'ai_credits', amount: 5, category: 'paid', idempotency_key: 'g-403' },
      runtimeKey,
    );
    expect(grant.status).toBe(403);
    expect((await harness.call('GET', '/v1/customers/x/balances')).status).toBe(404);
    expect(await state()).toEqual(before);
  });

  it('answers 409 for a duplicate customer and 404 for an unknown one', async () => {
    const duplicate = await harness.call('POST', '/v1/customers', { id: 'acme' }, adminKey);
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({ code: 'TOLLGATE_ERR_CONFLICT', field: 'id' });
    const missing = await harness.call('GET', '/v1/customers/nobody/balances');
    expect(missing.status).toBe(404);
  });

  it('names the field of an invalid customer id', async () => {
    const reply = await harness.call('POST', '/v1/customers', { id: 'has space' });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ code: 'TOLLGATE_ERR_INVALID_IDENTIFIER', field: 'id' });
  });

  it('keeps environments apart: a live key does not see test customers', async () => {
    const reply = await harness.call('GET', '/v1/customers/acme/balances', undefined, liveAdminKey);
    expect(reply.status).toBe(404);
    expect((await harness.call('POST', '/v1/customers', { id: 'acme' }, liveAdminKey)).status).toBe(
      201,
    );
  });
});
