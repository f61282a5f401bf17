import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  TollgateError,
  assertIdentifier,
  parsePositiveQuantity,
  parseQuantity,
  validationError,
} from '@tollgate/core';
import type { CurrencyDefinition } from '@tollgate/catalog';
import { adjustCredits } from '../ledger/adjust.js';
import { debitCredits } from '../ledger/debit.js';
import { refundDebit, voidGrant } from '../ledger/refund.js';
import type { Body } from '../http/body.js';
import { formatInstant, readBody, readChoice, readIdentifier } from '../http/body.js';
import { runOnce } from '../http/idempotency.js';
import type { Outcome } from '../http/idempotency.js';
import type { StoreTransaction } from '../store/store.js';
import { grantDetailJson, grantJson } from './credits.routes.js';
import type { RouteContext } from './route-context.js';
import { loadCustomer } from './route-context.js';

type CustomerRequest = FastifyRequest<{ Params: { id: string; grant_id?: string } }>;
type DebitRequest = FastifyRequest<{ Params: { id: string; debit_id: string } }>;
type Write = (tx: StoreTransaction, nowMs: number, actor: string) => Promise<Outcome>;

/** A claim this old was left by a process that died: no ledger request runs a minute. */
export const claimTimeoutMs = 60_000;
const referenceLengthMax = 256;
const pageSizeMax = 1_000;

/**
 * Ledger writes other than grants (`credits.routes.ts`): debit, refund, void and
 * adjustment; and the paged list of grants. Admin keys only. Every write takes an
 * `idempotency_key`, unique per customer across grants, debits, refunds, voids and
 * adjustments.
 */
export function registerLedgerRoutes(app: FastifyInstance, context: RouteContext): void {
  app.post('/v1/customers/:id/debits', async (request: CustomerRequest, reply) => {
    const body = readBody(request.body);
    const currency = readCurrency(context, body);
    // A debit of 0 is allowed at any balance and writes no entry, as a check of cost 0.
    const amount = parseQuantity(body.amount, 'amount');
    const reference = readOptionalReference(body);
    return write(context, request, reply, { debit: body }, async (tx, nowMs, actor) => {
      const customerId = request.params.id;
      const idempotencyKey = readIdentifier(body, 'idempotency_key');
      const result = await debitCredits(
        tx,
        { customerId, currency, amount, mode: 'deny' },
        { atMs: nowMs, actor, reference, idempotencyKey },
      );
      const debit = result.debit;
      return {
        status: 201,
        body: {
          id: debit?.id ?? null,
          currency: currency.key,
          amount,
          debited: debit?.debited ?? 0,
          overage: debit?.overage ?? 0,
          balance: result.balance,
          lines: linesJson(result.lines),
          at: formatInstant(nowMs),
          reference,
        },
      };
    });
  });

  app.post('/v1/customers/:id/refunds', async (request: CustomerRequest, reply) => {
    const body = readBody(request.body);
    const debitId = parsePositiveQuantity(body.debit_id, 'debit_id');
    const amount = parsePositiveQuantity(body.amount, 'amount');
    const reference = readOptionalReference(body);
    return write(context, request, reply, { refund: body }, async (tx, nowMs, actor) => {
      const idempotencyKey = readIdentifier(body, 'idempotency_key');
      const customerId = request.params.id;
      const result = await refundDebit(
        tx,
        { customerId, debitId, amount },
        { atMs: nowMs, actor, reference, idempotencyKey },
      );
      const currency = result.debit.currency;
      const lines = linesJson(result.lines);
      const refunded = { debit_id: debitId, currency, amount, balance: result.balance, lines };
      return { status: 201, body: { ...refunded, at: formatInstant(nowMs), reference } };
    });
  });

  app.post('/v1/customers/:id/grants/:grant_id/void', async (request: CustomerRequest, reply) => {
    const body = readBody(request.body);
    const grantId = readPathId(request.params.grant_id, 'grant_id');
    const reference = readOptionalReference(body);
    const voidRequest = { void: { ...body, grant_id: grantId } };
    return write(context, request, reply, voidRequest, async (tx, nowMs, actor) => {
      const idempotencyKey = readIdentifier(body, 'idempotency_key');
      const customerId = request.params.id;
      const result = await voidGrant(
        tx,
        { customerId, grantId },
        { atMs: nowMs, actor, reference, idempotencyKey },
      );
      const grant = { currency: result.grant.currency, ...grantJson(result.grant) };
      return { status: 200, body: { grant, voided: result.voided, balance: result.balance } };
    });
  });

  app.post('/v1/customers/:id/adjustments', (request: CustomerRequest, reply) =>
    adjust(context, request, reply),
  );

  app.get('/v1/customers/:id/grants', (request: CustomerRequest) => listGrants(context, request));
  app.get('/v1/customers/:id/debits/:debit_id', (request: DebitRequest) =>
    readDebit(context, request),
  );
}

/**
 * `POST /v1/customers/:id/adjustments`: an operator's signed correction with a reason.
 * The amount is a non-zero integer of at most 2^53 - 1 either way.
 */
async function adjust(context: RouteContext, request: CustomerRequest, reply: FastifyReply) {
  const body = readBody(request.body);
  const currency = readCurrency(context, body);
  const amount = readSignedAmount(body.amount);
  const reason = readText(body.reason, 'reason');
  const reference = readOptionalReference(body);
  const category =
    body.category === undefined
      ? 'promotional'
      : readChoice(body, 'category', ['paid', 'promotional'] as const);
  if (amount < 0 && body.category !== undefined) {
    throw validationError('category', 'only a positive adjustment creates a grant');
  }
  return write(context, request, reply, { adjustment: body }, async (tx, nowMs, actor) => {
    const customerId = request.params.id;
    const idempotencyKey = readIdentifier(body, 'idempotency_key');
    const sourceKey = `adjustment:${customerId}:${idempotencyKey}@${nowMs}`;
    const result = await adjustCredits(
      tx,
      { customerId, currency, amount, category, sourceKey },
      { atMs: nowMs, actor, reference, idempotencyKey, reason },
    );
    return {
      status: 201,
      body: {
        currency: currency.key,
        amount,
        grant_id: result.grant?.id ?? null,
        balance: result.balance,
        lines: linesJson(result.lines),
        reason,
        reference,
        at: formatInstant(nowMs),
      },
    };
  });
}

function readSignedAmount(value: unknown): number {
  const magnitude = typeof value === 'number' && value < 0 ? -value : value;
  const parsed = parsePositiveQuantity(magnitude, 'amount');
  return value === magnitude ? parsed : -parsed;
}

function readText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > referenceLengthMax) {
    throw validationError(field, `expected a string of 1-${referenceLengthMax} characters`);
  }
  return value;
}

/** Validates the customer and key, then runs `work` once per idempotency key. */
async function write(
  context: RouteContext,
  request: CustomerRequest,
  reply: FastifyReply,
  payload: Body,
  work: Write,
) {
  const customerId = assertIdentifier(request.params.id, 'id');
  const body = readBody(request.body);
  const key = readIdentifier(body, 'idempotency_key');
  const nowMs = context.clock();
  const environment = request.principal.environment;
  const actor = request.principal.keyId;
  const scope = `ledger:${customerId}`;
  const once = { environment, scope, key, request: payload, nowMs, claimTimeoutMs };
  const outcome = await runOnce(context.store, once, async (tx) => {
    await loadCustomer(context, tx, customerId, nowMs);
    return work(tx, nowMs, actor);
  });
  return reply.status(outcome.status).send(outcome.body);
}

/** `GET /v1/customers/:id/grants?limit=100&after=<grant id>`, every status, oldest first. */
async function listGrants(context: RouteContext, request: CustomerRequest) {
  const customerId = assertIdentifier(request.params.id, 'id');
  const query = request.query as Record<string, string | undefined>;
  const limit = readPageParameter(query.limit, 'limit', 100);
  const afterId = readPageParameter(query.after, 'after', 0);
  if (limit < 1 || limit > pageSizeMax) {
    throw validationError('limit', `expected an integer from 1 to ${pageSizeMax}`);
  }
  const nowMs = context.clock();
  return context.store.transaction(request.principal.environment, async (tx) => {
    await loadCustomer(context, tx, customerId, nowMs);
    // One row past the page says whether another page follows.
    const grants = await tx.listGrantsPage(customerId, afterId, limit + 1);
    const page = grants.slice(0, limit);
    return {
      grants: page.map((grant) => grantDetailJson(grant, nowMs)),
      next_after: grants.length > limit ? (page.at(-1)?.id ?? null) : null,
    };
  });
}

/**
 * `GET /v1/customers/:id/debits/:debit_id`: what one debit asked, charged and could not
 * charge. `overage` went below zero on a soft balance; `shortfall` is what usage that had
 * already happened left uncharged (the usage is recorded in full, the balance not).
 */
async function readDebit(context: RouteContext, request: DebitRequest) {
  const customerId = assertIdentifier(request.params.id, 'id');
  const debitId = readPathId(request.params.debit_id, 'debit_id');
  const nowMs = context.clock();
  return context.store.transaction(request.principal.environment, async (tx) => {
    await loadCustomer(context, tx, customerId, nowMs);
    const debit = await tx.getDebit(debitId);
    if (debit === null || debit.customerId !== customerId) {
      throw new TollgateError('TOLLGATE_ERR_NOT_FOUND', `No debit ${debitId} of ${customerId}`, {
        field: 'debit_id',
      });
    }
    return {
      id: debit.id,
      currency: debit.currency,
      requested: debit.requested,
      debited: debit.debited,
      overage: debit.overage,
      shortfall: debit.shortfall,
      at: formatInstant(debit.atMs),
      actor: debit.actor,
      reference: debit.reference,
      idempotency_key: debit.idempotencyKey,
    };
  });
}

function readCurrency(context: RouteContext, body: Body): CurrencyDefinition {
  const key = readIdentifier(body, 'currency');
  const currency = context.catalog.currencies.get(key);
  if (currency === undefined) throw validationError('currency', `no currency named ${key}`);
  return currency;
}

/** Free text tying an entry to something outside: an invoice number, a request id. */
export function readOptionalReference(body: Body): string | null {
  const value = body.reference;
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length === 0 || value.length > referenceLengthMax) {
    throw validationError('reference', `expected a string of 1-${referenceLengthMax} characters`);
  }
  return value;
}

function readPathId(value: string | undefined, field: string): number {
  const parsed = value !== undefined && /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed) || parsed < 1) {
    throw validationError(field, 'expected a positive whole number');
  }
  return parsed;
}

export function readPageParameter(value: string | undefined, field: string, fallback: number) {
  if (value === undefined) return fallback;
  const parsed = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed)) throw validationError(field, 'expected a whole number');
  return parsed;
}

function linesJson(lines: readonly { grantId: number | null; amount: number }[]) {
  return lines.map((line) => ({ grant_id: line.grantId, amount: line.amount }));
}
