import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assertIdentifier, parsePositiveQuantity, validationError } from '@tollgate/core';
import { addMonths } from '@tollgate/catalog';
import type { OneTimeGrantDefinition } from '@tollgate/catalog';
import { grantCredits, isLive, scheduleGrant } from '../ledger/ledger.js';
import type { NewGrant } from '../ledger/ledger.js';
import type { GrantRow } from '../store/store.js';
import {
  formatInstant,
  readBody,
  readChoice,
  readIdentifier,
  readOptionalInstant,
  readOptionalQuantity,
} from '../http/body.js';
import { runOnce } from '../http/idempotency.js';
import { claimTimeoutMs, readOptionalReference } from './ledger.routes.js';
import type { RouteContext } from './route-context.js';
import { loadCustomer } from './route-context.js';

type CustomerRequest = FastifyRequest<{ Params: { id: string } }>;

/** `POST /v1/customers/:id/addons` and `POST /v1/customers/:id/grants`. Admin keys only. */
export function registerCreditRoutes(app: FastifyInstance, context: RouteContext): void {
  app.post('/v1/customers/:id/addons', (request: CustomerRequest, reply) =>
    purchaseAddon(context, request, reply),
  );
  app.post('/v1/customers/:id/grants', (request: CustomerRequest, reply) =>
    grantOnRequest(context, request, reply),
  );
}

/** Records a purchase: its entitlement changes apply from now, its one-time grant at once. */
async function purchaseAddon(context: RouteContext, request: CustomerRequest, reply: FastifyReply) {
  const customerId = assertIdentifier(request.params.id, 'id');
  const body = readBody(request.body);
  const addonKey = readIdentifier(body, 'addon');
  const idempotencyKey = readIdentifier(body, 'idempotency_key');
  const addon = context.catalog.addons.get(addonKey);
  if (addon === undefined) throw validationError('addon', `no add-on named ${addonKey}`);
  const nowMs = context.clock();
  const actor = request.principal.keyId;

  const environment = request.principal.environment;
  const keyed = { environment, scope: `addons:${customerId}`, key: idempotencyKey };
  const once = { ...keyed, request: body, nowMs, claimTimeoutMs };
  const outcome = await runOnce(context.store, once, async (tx) => {
    await loadCustomer(context, tx, customerId, nowMs);
    const purchase = await tx.insertAddonPurchase({
      customerId,
      addon: addonKey,
      purchasedAtMs: nowMs,
    });
    const grant =
      addon.grant === null
        ? null
        : await grantCredits(tx, addonGrant(addon.grant, customerId, purchase.id, nowMs), {
            atMs: nowMs,
            actor,
            reference: `addon:${addonKey}`,
            idempotencyKey,
          });
    const purchased = { id: purchase.id, addon: addonKey, purchased_at: formatInstant(nowMs) };
    return { status: 201, body: { ...purchased, grant: grant && grantJson(grant) } };
  });
  return reply.status(outcome.status).send(outcome.body);
}

function addonGrant(
  definition: OneTimeGrantDefinition,
  customerId: string,
  purchaseId: number,
  nowMs: number,
): NewGrant {
  const months = definition.expiresAfterMonths;
  return {
    customerId,
    currency: definition.currency,
    category: definition.category,
    amount: definition.amount,
    priority: definition.priority,
    effectiveAtMs: nowMs,
    expiresAtMs: months === null ? null : addMonths(nowMs, months),
    costBasis: definition.costBasis,
    costBasisCurrency: definition.costBasisCurrency,
    sourceKey: `addon:${purchaseId}`,
    subscriptionId: null,
    recurringSlot: null,
    periodIndex: null,
  };
}

/** A grant made by hand: a promotion, a goodwill credit, a prepaid top-up. */
async function grantOnRequest(
  context: RouteContext,
  request: CustomerRequest,
  reply: FastifyReply,
) {
  const customerId = assertIdentifier(request.params.id, 'id');
  const body = readBody(request.body);
  const currency = readIdentifier(body, 'currency');
  if (!context.catalog.currencies.has(currency)) {
    throw validationError('currency', `no currency named ${currency}`);
  }
  const amount = parsePositiveQuantity(body.amount, 'amount');
  const category = readChoice(body, 'category', ['paid', 'promotional'] as const);
  const expiresAtMs = readOptionalInstant(body, 'expires_at');
  const effectiveAtGiven = readOptionalInstant(body, 'effective_at');
  const priority = readOptionalQuantity(body, 'priority', 0);
  const costBasis = readOptionalQuantity(body, 'cost_basis', 0);
  // Revenue reports count promotional credits as given away: they cost nothing.
  if (category === 'promotional' && costBasis !== 0) {
    throw validationError('cost_basis', 'expected 0 for a promotional grant');
  }
  const costBasisCurrency = body.cost_basis_currency ?? 'USD';
  if (typeof costBasisCurrency !== 'string' || !/^[A-Z]{3}$/.test(costBasisCurrency)) {
    throw validationError('cost_basis_currency', 'expected an ISO 4217 code such as USD');
  }
  const idempotencyKey = readIdentifier(body, 'idempotency_key');
  const reference = readOptionalReference(body);
  const nowMs = context.clock();
  // A past effective time is refused: a grant back-dated before debits already made would
  // change what they could draw from. A future one is scheduled.
  if (effectiveAtGiven !== null && effectiveAtGiven < nowMs) {
    throw validationError('effective_at', 'expected now or a later instant');
  }
  const effectiveAtMs = effectiveAtGiven ?? nowMs;
  if (expiresAtMs !== null && expiresAtMs <= effectiveAtMs) {
    const after = effectiveAtGiven === null ? 'now' : 'effective_at';
    throw validationError('expires_at', `expected an instant after ${after}`);
  }
  const scheduled = effectiveAtMs > nowMs;
  const grant: NewGrant = {
    customerId,
    currency,
    category,
    amount,
    priority,
    effectiveAtMs,
    expiresAtMs,
    costBasis,
    costBasisCurrency,
    // Keys are purged after their retention and may then be used again: the instant keeps
    // the source unique.
    sourceKey: `${scheduled ? 'scheduled' : 'manual'}:${customerId}:${idempotencyKey}@${nowMs}`,
    subscriptionId: null,
    recurringSlot: null,
    periodIndex: null,
  };

  // Grants, debits, refunds and voids share one key space per customer.
  const environment = request.principal.environment;
  const keyed = { environment, scope: `ledger:${customerId}`, key: idempotencyKey };
  const once = { ...keyed, request: { grant: body }, nowMs, claimTimeoutMs };
  const outcome = await runOnce(context.store, once, async (tx) => {
    await loadCustomer(context, tx, customerId, nowMs);
    const actor = request.principal.keyId;
    const entry = { atMs: nowMs, actor, reference, idempotencyKey };
    const row = scheduled ? await scheduleGrant(tx, grant) : await grantCredits(tx, grant, entry);
    const effective_at = formatInstant(row.effectiveAtMs);
    return { status: 201, body: { currency, ...grantJson(row), effective_at } };
  });
  return reply.status(outcome.status).send(outcome.body);
}

/** A grant as balances show it; instants as RFC 3339 strings. */
export function grantJson(grant: GrantRow) {
  return {
    id: grant.id,
    category: grant.category,
    amount: grant.amount,
    remaining: grant.remaining,
    expires_at: formatInstant(grant.expiresAtMs),
    priority: grant.priority,
  };
}

/** A grant with everything stored about it, as `GET …/grants` lists it. */
export function grantDetailJson(grant: GrantRow, nowMs: number) {
  const status =
    grant.voidedAtMs !== null
      ? 'voided'
      : !isLive(grant, nowMs)
        ? 'expired'
        : grant.effectiveAtMs > nowMs
          ? 'scheduled'
          : 'live';
  return {
    ...grantJson(grant),
    currency: grant.currency,
    status,
    effective_at: formatInstant(grant.effectiveAtMs),
    voided_at: formatInstant(grant.voidedAtMs),
    cost_basis: grant.costBasis,
    cost_basis_currency: grant.costBasisCurrency,
    source: grant.sourceKey,
  };
}
