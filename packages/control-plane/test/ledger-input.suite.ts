import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestHashOf } from '../src/http/idempotency.js';
import { openStore } from '../src/store/open-store.js';
import type { LedgerHarness, StoreKind } from './ledger-fixtures.js';
import { rawSql } from './raw-sql.js';
import {
  balanceOf,
  customerWith,
  debit,
  ledgerCatalog,
  ledgerOf,
  startLedgerHarness,
} from './ledger-fixtures.js';

const dayMs = 24 * 60 * 60 * 1000;

/** Idempotency in flight and over time, bad input and 64-bit amounts, once per store. */
export function ledgerInputSuite(kind: StoreKind): void {
  describe(`ledger idempotency and bad input (${kind})`, () => {
    let harness: LedgerHarness;
    beforeAll(async () => {
      harness = await startLedgerHarness(kind, '2026-07-01T00:00:00Z');
      await customerWith(harness, 'acme', { amount: 100 });
    });
    afterAll(() => harness.close());

    async function state(customer = 'acme') {
      return {
        balance: await balanceOf(harness, customer, 'credits'),
        ledger: await ledgerOf(harness, customer),
      };
    }

    it('answers 409 while the first request with a key is in flight; writes nothing', async () => {
      const body = { currency: 'credits', amount: 7, idempotency_key: 'busy' };
      // Another control plane holds the key: its claim is in the shared database.
      const other = await openStore(harness.storeOptions, harness.clock.now());
      await other.transaction('test', (tx) =>
        tx.claimIdempotencyKey({
          scope: 'ledger:acme',
          key: 'busy',
          requestHash: requestHashOf({ debit: body }),
          token: 'other-process',
          nowMs: harness.clock.now(),
          staleBeforeMs: 0,
        }),
      );
      await other.close();
      const before = await state();
      const reply = await debit(harness, 'acme', body);
      expect(reply.status).toBe(409);
      expect(reply.body).toMatchObject({
        code: 'TOLLGATE_ERR_IDEMPOTENCY_IN_FLIGHT',
        field: 'idempotency_key',
      });
      const changed = await debit(harness, 'acme', { ...body, amount: 8 });
      expect(changed.status).toBe(422);
      expect(await state()).toEqual(before);

      // A claim a minute old was left by a process that died: the retry takes it over.
      harness.clock.advance(61_000);
      const retried = await debit(harness, 'acme', body);
      expect([retried.status, retried.body.balance]).toEqual([201, 93]);
    });

    it('keeps keys 30 days: a day-29 replay writes nothing; purged, the key is free', async () => {
      const body = { currency: 'credits', amount: 1, category: 'paid', idempotency_key: 'old' };
      await customerWith(harness, 'aging');
      await harness.call('POST', '/v1/customers/aging/grants', body);
      harness.clock.advance(29 * dayMs);
      await harness.call('POST', '/v1/jobs/ledger', {});
      await harness.call('POST', '/v1/customers/aging/grants', body);
      expect((await balanceOf(harness, 'aging', 'credits')).balance).toBe(1);
      harness.clock.advance(2 * dayMs);
      const job = await harness.call('POST', '/v1/jobs/ledger', {});
      expect(job.body.purged_keys).toBeGreaterThanOrEqual(1);
      await harness.call('POST', '/v1/customers/aging/grants', body);
      expect((await balanceOf(harness, 'aging', 'credits')).balance).toBe(2);
    });

    it('refuses a stream heartbeat under 100 ms, naming the option', async () => {
      for (const streamHeartbeatIntervalMs of [0, 99, 1.5]) {
        await expect(
          startLedgerHarness(kind, '2026-07-01T00:00:00Z', ledgerCatalog, {
            streamHeartbeatIntervalMs,
          }),
        ).rejects.toMatchObject({
          code: 'TOLLGATE_ERR_VALIDATION',
          field: 'streamHeartbeatIntervalMs',
        });
      }
    });

    it('refuses a key retention under 30 days; one of 40 keeps a key through day 35', async () => {
      const start = '2026-07-01T00:00:00Z';
      await expect(
        startLedgerHarness(kind, start, ledgerCatalog, { idempotencyRetentionMs: 29 * dayMs }),
      ).rejects.toMatchObject({
        code: 'TOLLGATE_ERR_VALIDATION',
        field: 'idempotencyRetentionMs',
      });
      const keeping = await startLedgerHarness(kind, start, ledgerCatalog, {
        idempotencyRetentionMs: 40 * dayMs,
      });
      try {
        const body = { currency: 'credits', amount: 1, category: 'paid', idempotency_key: 'k' };
        await customerWith(keeping, 'kept');
        await keeping.call('POST', '/v1/customers/kept/grants', body);
        keeping.clock.advance(35 * dayMs);
        const early = await keeping.call('POST', '/v1/jobs/ledger', {});
        expect(early.body.purged_keys).toBe(0);
        await keeping.call('POST', '/v1/customers/kept/grants', body);
        expect((await balanceOf(keeping, 'kept', 'credits')).balance).toBe(1);
        keeping.clock.advance(6 * dayMs);
        const late = await keeping.call('POST', '/v1/jobs/ledger', {});
        expect(late.body.purged_keys).toBe(1);
        await keeping.call('POST', '/v1/customers/kept/grants', body);
        expect((await balanceOf(keeping, 'kept', 'credits')).balance).toBe(2);
      } finally {
        await keeping.close();
      }
    });

    const badAmounts: [string, string][] = [
      ['-1', '-1'],
      ['1.5', '1.5'],
      ['2^53', String(2 ** 53)],
      ['1e400', '1e400'],
      ['"5"', '"5"'],
      ['null', 'null'],
      ['true', 'true'],
    ];
    for (const [label, json] of badAmounts) {
      it(`refuses a debit amount of ${label}, naming amount, and changes nothing`, async () => {
        const before = await state();
        const raw = `{"currency":"credits","amount":${json},"idempotency_key":"bad"}`;
        const response = await fetch(`${harness.baseUrl}/v1/customers/acme/debits`, {
          method: 'POST',
          headers: { authorization: 'Bearer admin-test-key', 'content-type': 'application/json' },
          body: raw,
        });
        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({
          code: 'TOLLGATE_ERR_INVALID_QUANTITY',
          field: 'amount',
        });
        expect(await state()).toEqual(before);
      });
    }

    const badRequests: [string, string, Record<string, unknown>, number, string, string][] = [
      [
        'a grant of 0',
        'grants',
        { amount: 0, category: 'paid' },
        400,
        'INVALID_QUANTITY',
        'amount',
      ],
      [
        'an unknown currency',
        'debits',
        { currency: 'gold', amount: 1 },
        400,
        'VALIDATION',
        'currency',
      ],
      [
        'no idempotency key',
        'debits',
        { amount: 1, idempotency_key: undefined },
        400,
        'INVALID_IDENTIFIER',
        'idempotency_key',
      ],
      [
        'a key with a space',
        'debits',
        { amount: 1, idempotency_key: 'a b' },
        400,
        'INVALID_IDENTIFIER',
        'idempotency_key',
      ],
      [
        'a 257-character reference',
        'debits',
        { amount: 1, reference: 'r'.repeat(257) },
        400,
        'VALIDATION',
        'reference',
      ],
      [
        'a refund of debit 0',
        'refunds',
        { debit_id: 0, amount: 1 },
        400,
        'INVALID_QUANTITY',
        'debit_id',
      ],
      [
        'a refund of an unknown debit',
        'refunds',
        { debit_id: 999_999, amount: 1 },
        404,
        'NOT_FOUND',
        'debit_id',
      ],
      ['a void of grant "abc"', 'grants/abc/void', {}, 400, 'VALIDATION', 'grant_id'],
      ['a void of an unknown grant', 'grants/999999/void', {}, 404, 'NOT_FOUND', 'grant_id'],
    ];
    for (const [label, route, body, status, code, field] of badRequests) {
      it(`refuses ${label} with ${status}, naming ${field}`, async () => {
        const before = await state();
        const reply = await harness.call('POST', `/v1/customers/acme/${route}`, {
          currency: 'credits',
          idempotency_key: 'refused',
          ...body,
        });
        expect(reply.status).toBe(status);
        expect(reply.body).toMatchObject({ code: `TOLLGATE_ERR_${code}`, field });
        expect(await state()).toEqual(before);
      });
    }

    it('answers 404 for a debit of an unknown customer', async () => {
      const reply = await debit(harness, 'ghost', { amount: 1, idempotency_key: 'g' });
      expect([reply.status, reply.body.code]).toEqual([404, 'TOLLGATE_ERR_NOT_FOUND']);
    });

    it('stores 2^53 − 1 exactly and refuses a grant that would pass it', async () => {
      await customerWith(harness, 'whale', { amount: Number.MAX_SAFE_INTEGER });
      expect((await balanceOf(harness, 'whale', 'credits')).balance).toBe(Number.MAX_SAFE_INTEGER);
      const before = await state('whale');
      const reply = await harness.call('POST', '/v1/customers/whale/grants', {
        currency: 'credits',
        category: 'paid',
        amount: 1,
        idempotency_key: 'one-more',
      });
      expect(reply.status).toBe(400);
      expect(reply.body.field).toBe('amount');
      expect(await state('whale')).toEqual(before);
      const spent = await debit(harness, 'whale', { amount: 2 ** 53 - 2, idempotency_key: 'w' });
      expect(spent.body.balance).toBe(1);
    });

    it('refuses to read a stored 2^53 + 1 rather than rounding it to 2^53', async () => {
      await customerWith(harness, 'huge', { amount: 5 });
      // 64-bit storage holds it; a JavaScript number cannot. Written past the API, in SQL.
      await rawSql(
        harness,
        `UPDATE balances SET balance = 9007199254740993
         WHERE customer_id = 'huge' AND currency = 'credits'`,
      );
      const read = await harness.call('GET', '/v1/customers/huge/balances');
      expect([read.status, read.body.code]).toEqual([500, 'TOLLGATE_ERR_INTERNAL']);
      await rawSql(
        harness,
        `UPDATE balances SET balance = 5 WHERE customer_id = 'huge' AND currency = 'credits'`,
      );
      expect((await balanceOf(harness, 'huge', 'credits')).balance).toBe(5);
    });
  });
}
