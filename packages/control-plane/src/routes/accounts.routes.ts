import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TollgateError, assertIdentifier, validationError } from '@tollgate/core';
import { displayAmount } from '@tollgate/catalog';
import { usageAndLimitAt, usageTotalKey } from '../usage/usage-period.js';
import { formatInstant } from '../http/body.js';
import { isLive } from '../ledger/ledger.js';
import { grantJson } from './credits.routes.js';
import type { RouteContext } from './route-context.js';
import { loadCustomer } from './route-context.js';

type CustomerQuery = { Params: { id: string }; Querystring: Record<string, string | undefined> };

const pageSizeMax = 1_000;

/** Reads of one customer's account: balances, ledger and usage. Admin keys only. */
export function registerAccountRoutes(app: FastifyInstance, context: RouteContext): void {
  app.get<CustomerQuery>('/v1/customers/:id/balances', async (request) => {
    const customerId = assertIdentifier(request.params.id, 'id');
    const nowMs = context.clock();
    return context.store.transaction(request.principal.environment, async (tx) => {
      await loadCustomer(context, tx, customerId, nowMs);
      const grants = await tx.listGrants(customerId);
      const balances = [];
      for (const [currency, definition] of context.catalog.currencies) {
        const live = grants.filter((grant) => grant.currency === currency && isLive(grant, nowMs));
        const balance = await tx.getBalance(customerId, currency);
        // The balance as a decimal string with the catalog's `display_scale`.
        const display = displayAmount(balance, definition.displayScale);
        balances.push({ currency, balance, display, grants: live.map(grantJson) });
      }
      return { customer: customerId, at: formatInstant(nowMs), balances };
    });
  });

  app.get<CustomerQuery>('/v1/customers/:id/ledger', async (request) => {
    const customerId = assertIdentifier(request.params.id, 'id');
    const limit = readPageParameter(request.query.limit, 'limit', 100);
    const afterId = readPageParameter(request.query.after, 'after', 0);
    if (limit < 1 || limit > pageSizeMax) {
      throw validationError('limit', `expected an integer from 1 to ${pageSizeMax}`);
    }
    const nowMs = context.clock();
    return context.store.transaction(request.principal.environment, async (tx) => {
      await loadCustomer(context, tx, customerId, nowMs);
      const entries = await tx.listLedgerEntries(customerId, afterId, limit);
      return {
        entries: entries.map((entry) => ({
          id: entry.id,
          currency: entry.currency,
          kind: entry.kind,
          amount: entry.amount,
          grant_id: entry.grantId,
          debit_id: entry.debitId,
          at: formatInstant(entry.atMs),
          actor: entry.actor,
          reference: entry.reference,
          idempotency_key: entry.idempotencyKey,
          reason: entry.reason,
        })),
        next_after: entries.length === limit ? (entries.at(-1)?.id ?? null) : null,
      };
    });
  });

  app.get<CustomerQuery>('/v1/customers/:id/usage', (request) => readUsage(context, request));
}

/** Usage of one metered feature in the period containing now, with its limit and overage. */
async function readUsage(context: RouteContext, request: FastifyRequest<CustomerQuery>) {
  const customerId = assertIdentifier(request.params.id, 'id');
  const featureKey = assertIdentifier(request.query.feature, 'feature');
  const feature = context.catalog.features.get(featureKey);
  if (feature === undefined) {
    throw new TollgateError('TOLLGATE_ERR_UNKNOWN_FEATURE', `feature: no feature ${featureKey}`, {
      field: 'feature',
    });
  }
  if (feature.kind !== 'metered') throw validationError('feature', 'expected a metered feature');
  const nowMs = context.clock();

  return context.store.transaction(request.principal.environment, async (tx) => {
    const customer = await loadCustomer(context, tx, customerId, nowMs);
    const { period, limit } = await usageAndLimitAt(tx, context.catalog, customer, feature, nowMs);
    const used = await tx.getUsage(usageTotalKey(customerId, feature, period));
    return {
      feature: featureKey,
      period_start: formatInstant(period?.startMs ?? null),
      period_end: formatInstant(period?.endMs ?? null),
      used,
      limit,
      overage: limit === null ? 0 : Math.max(0, used - limit),
    };
  });
}

function readPageParameter(value: string | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed)) throw validationError(field, 'expected a whole number');
  return parsed;
}
