import type { FastifyInstance } from 'fastify';
import {
  TollgateError,
  assertIdentifier,
  parsePositiveQuantity,
  parseQuantity,
} from '@tollgate/core';
import { readBody, readIdentifier, readOptionalIdentifier } from '../http/body.js';
import type { LeaseService } from '../leases/lease-service.js';
import { leaseNotFound } from '../leases/lease-service.js';
import { ingestUsage } from '../usage/ingest-usage.js';
import type { UsageEventInput } from '../usage/usage-batch.js';
import { defaultUsageTimePolicy, partitionByTime } from '../usage/usage-time.js';
import type { RouteContext } from './route-context.js';

const roles = ['admin', 'runtime'] as const;

/**
 * `POST /v1/leases` grants or extends a lease, `POST /v1/leases/:id/return` ends one, and
 * `POST /v1/consume` is the strict mode: one atomic debit per call.
 */
export function registerLeaseRoutes(
  app: FastifyInstance,
  context: RouteContext,
  leases: LeaseService,
): void {
  app.post('/v1/leases', { config: { roles } }, async (request) => {
    const body = readBody(request.body);
    const customer = readIdentifier(body, 'customer');
    const feature = readIdentifier(body, 'feature');
    const requested = parsePositiveQuantity(body.requested, 'requested');
    const lease = readOptionalIdentifier(body, 'lease') ?? undefined;
    const ask = { customer, feature, requested, minimum: 0, lease };
    const grant = await leases.grant(request.principal.environment, ask, context.clock());
    return {
      lease: grant.lease,
      granted: grant.granted,
      cap: grant.cap,
      free: grant.free,
      expires_at_ms: grant.expiresAtMs,
    };
  });

  app.post<{ Params: { id: string } }>(
    '/v1/leases/:id/return',
    { config: { roles } },
    async (request) => {
      const lease = assertIdentifier(request.params.id, 'id');
      const used = parseQuantity(readBody(request.body).used, 'used');
      const found = await leases.book.returnLease(request.principal.environment, lease, used);
      if (!found) throw leaseNotFound(lease);
      return { lease, returned: true };
    },
  );

  app.post('/v1/consume', { config: { roles } }, async (request) => {
    const body = readBody(request.body);
    const event = readStrictEvent(context, leases, body);
    return consumeStrict(context, leases, request.principal.environment, event);
  });
}

function readStrictEvent(
  context: RouteContext,
  leases: LeaseService,
  body: Record<string, unknown>,
) {
  const feature = leases.feature(readIdentifier(body, 'feature'));
  return {
    key: readIdentifier(body, 'key'),
    customer: readIdentifier(body, 'customer'),
    feature,
    quantity: parsePositiveQuantity(body.quantity, 'quantity'),
    timeMs: body.time === undefined ? context.clock() : parseQuantity(body.time, 'time'),
    lease: null,
  } satisfies UsageEventInput;
}

/**
 * Carves exactly the event's cost as a one-shot lease, then ingests the event under it,
 * so that the check and the debit are one atomic step against every other grant.
 */
async function consumeStrict(
  context: RouteContext,
  leases: LeaseService,
  environment: string,
  input: UsageEventInput,
) {
  const nowMs = context.clock();
  const { rejected } = partitionByTime([input], context.usageTime ?? defaultUsageTimePolicy, nowMs);
  if (rejected.length > 0) return { allowed: false, rejected: rejected[0] };

  const { unitCost } = leases.poolOf(input.customer, input.feature);
  const amount = input.quantity * unitCost;
  const ask = { customer: input.customer, feature: input.feature.key, requested: amount };
  const grant = await leases.grant(
    environment,
    { ...ask, minimum: amount, lease: undefined },
    nowMs,
  );
  const reason = input.feature.kind === 'credits' ? 'insufficient_credits' : 'limit_exceeded';
  if (grant.granted === 0) {
    await leases.book.returnLease(environment, grant.lease, 0);
    return { allowed: false, reason, cost: amount, remaining: grant.free };
  }
  const event = { ...input, lease: grant.lease };
  const result = await context.store.transaction(environment, (tx) =>
    ingestUsage(tx, context.catalog, [event], { nowMs, actor: 'runtime' }),
  );
  await context.afterUsage?.(environment, [event], result);
  // The cap becomes what was actually ingested: nothing for a duplicate key.
  await leases.book.returnLease(environment, grant.lease, result.accepted === 1 ? amount : 0);
  if (result.mismatched.length > 0) {
    throw new TollgateError(
      'TOLLGATE_ERR_IDEMPOTENCY_MISMATCH',
      `key: ${input.key} was recorded before with another feature, quantity or time`,
      { field: 'key' },
    );
  }
  const duplicate = result.duplicates === 1;
  return { allowed: true, reason: 'allowed', cost: amount, remaining: grant.free, duplicate };
}
