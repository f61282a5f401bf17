import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TollgateError, assertIdentifier, parseQuantity, validationError } from '@tollgate/core';
import { checkOverrideOverlap, checkOverrideRule, trialVersion } from '@tollgate/catalog';
import type { CombineRule, FeatureDefinition } from '@tollgate/catalog';
import { overrideState } from '../account-state.js';
import { explainCustomer } from '../resolve-customer.js';
import { rolloverCustomer } from '../ledger/rollover.js';
import { pickPlanVersion } from '../plan-versions.js';
import type { OverrideRow, TrialRow } from '../store/account-store.js';
import type { StoreTransaction } from '../store/store.js';
import { runOnce } from '../http/idempotency.js';
import { claimTimeoutMs } from './ledger.routes.js';
import { usageTotalKey } from '../usage/usage-period.js';
import { formatInstant, readBody, readIdentifier, readOptionalInstant } from '../http/body.js';
import type { Body } from '../http/body.js';
import { explainJson } from './explain-json.js';
import { countSeats } from '../seated-users.js';
import type { RouteContext } from './route-context.js';
import { loadCustomer } from './route-context.js';

type CustomerRequest = FastifyRequest<{ Params: { id: string } }>;
type ExplainRequest = FastifyRequest<{
  Params: { id: string };
  Querystring: Record<string, string | undefined>;
}>;

const dayMs = 86_400_000;
const rules: readonly CombineRule[] = ['set', 'sum', 'max', 'or'];

/** Trials, overrides and explain. Admin keys only. */
export function registerEntitlementRoutes(app: FastifyInstance, context: RouteContext): void {
  app.post('/v1/customers/:id/trials', (request: CustomerRequest, reply) =>
    startTrial(context, request, reply),
  );
  app.post('/v1/customers/:id/overrides', async (request: CustomerRequest, reply) =>
    reply.status(201).send(await addOverride(context, request)),
  );
  app.delete<{ Params: { id: string; override: string } }>(
    '/v1/customers/:id/overrides/:override',
    (request) => endOverride(context, request.params, request.principal.environment),
  );
  app.get('/v1/customers/:id/explain', (request: ExplainRequest) => explain(context, request));
}

/**
 * Starts a trial now (or at `starts_at`) for the trial's days. A customer without a
 * subscription is subscribed to the trial's fallback plan at the same instant, so that the
 * fallback's credits and anchor exist; a trial grants the plan's features, not its credits.
 * A customer gets one trial per plan: a second is refused with `TOLLGATE_ERR_TRIAL_USED`.
 * With `idempotency_key`, a retried start replays the first answer instead.
 */
async function startTrial(context: RouteContext, request: CustomerRequest, reply: FastifyReply) {
  const customerId = assertIdentifier(request.params.id, 'id');
  const body = readBody(request.body);
  const trialKey = readIdentifier(body, 'trial');
  const idempotencyKey =
    body.idempotency_key === undefined ? null : readIdentifier(body, 'idempotency_key');
  const definition = context.catalog.trials.get(trialKey);
  if (definition === undefined) throw validationError('trial', `no trial named ${trialKey}`);
  const nowMs = context.clock();
  const startsAtMs = readOptionalInstant(body, 'starts_at') ?? nowMs;
  const endsAtMs = readOptionalInstant(body, 'ends_at') ?? startsAtMs + definition.days * dayMs;
  if (endsAtMs <= startsAtMs)
    throw validationError('ends_at', 'expected an instant after starts_at');
  const version = trialVersion(context.catalog, definition.plan, undefined, startsAtMs);
  const trial = { customerId, trial: trialKey, planVersion: version.version, startsAtMs, endsAtMs };

  const environment = request.principal.environment;
  const work = async (tx: StoreTransaction) => ({
    status: 201,
    body: await insertTrial(context, tx, { ...trial, plan: definition.plan }, nowMs),
  });
  const outcome =
    idempotencyKey === null
      ? await context.store.transaction(environment, work)
      : await runOnce(
          context.store,
          {
            environment,
            scope: `trials:${customerId}`,
            key: idempotencyKey,
            request: body,
            nowMs,
            claimTimeoutMs,
          },
          work,
        );
  return reply.status(outcome.status).send(outcome.body);
}

async function insertTrial(
  context: RouteContext,
  tx: StoreTransaction,
  trial: Omit<TrialRow, 'id'>,
  nowMs: number,
) {
  const { customerId } = trial;
  const definition = context.catalog.trials.get(trial.trial)!;
  await loadCustomer(context, tx, customerId, nowMs);
  const used = (await tx.accounts.listTrials(customerId)).find((row) => row.plan === trial.plan);
  if (used !== undefined) {
    throw new TollgateError(
      'TOLLGATE_ERR_TRIAL_USED',
      `trial: ${customerId} had a trial of ${trial.plan} (${used.trial}, from ` +
        `${formatInstant(used.startsAtMs)}); one trial per plan`,
      { field: 'trial' },
    );
  }
  if ((await tx.getSubscription(customerId)) === null) {
    const fallback = pickPlanVersion(context.catalog, definition.fallbackPlan, undefined, nowMs);
    await tx.insertSubscription({
      customerId,
      plan: definition.fallbackPlan,
      planVersion: fallback.version,
      anchorMs: nowMs,
      quantity: 1,
      createdAtMs: nowMs,
    });
    await rolloverCustomer(tx, context.catalog, customerId, nowMs);
  }
  const row = await tx.accounts.insertTrial(trial);
  return {
    id: row.id,
    trial: row.trial,
    plan: row.plan,
    version: row.planVersion,
    starts_at: formatInstant(row.startsAtMs),
    ends_at: formatInstant(row.endsAtMs),
    fallback_plan: definition.fallbackPlan,
  };
}

async function addOverride(context: RouteContext, request: CustomerRequest) {
  const customerId = assertIdentifier(request.params.id, 'id');
  const body = readBody(request.body);
  const feature = readFeature(context, readIdentifier(body, 'feature'));
  const nowMs = context.clock();
  const value = readOverrideValue(feature, body);
  const ruleStated = body.rule !== undefined;
  // An override without a rule combines as its feature declares (`combine:`), else `set`.
  const rule = ruleStated ? readRule(body.rule) : feature.overrideRule;
  checkOverrideRule(feature, rule);
  const startsAtMs = readOptionalInstant(body, 'starts_at');
  const endsAtMs = readOptionalInstant(body, 'ends_at');
  if (startsAtMs !== null && endsAtMs !== null && endsAtMs <= startsAtMs) {
    throw validationError('ends_at', 'expected an instant after starts_at');
  }
  const reference = body.reference === undefined ? null : String(body.reference).slice(0, 256);
  const row: Omit<OverrideRow, 'id'> = {
    customerId,
    feature: feature.key,
    ...value,
    rule,
    startsAtMs,
    endsAtMs,
    reference,
    createdAtMs: nowMs,
  };

  return context.store.transaction(request.principal.environment, async (tx) => {
    await loadCustomer(context, tx, customerId, nowMs);
    const existing = (await tx.accounts.listOverrides(customerId)).map(overrideState);
    checkOverrideOverlap(existing, overrideState({ ...row, id: 0 }), ruleStated);
    return overrideJson(await tx.accounts.insertOverride(row));
  });
}

async function endOverride(
  context: RouteContext,
  params: { id: string; override: string },
  environment: string,
) {
  const customerId = assertIdentifier(params.id, 'id');
  const overrideId = parseQuantity(Number(params.override), 'override');
  const nowMs = context.clock();
  return context.store.transaction(environment, async (tx) => {
    await loadCustomer(context, tx, customerId, nowMs);
    const found = (await tx.accounts.listOverrides(customerId)).find(
      (row) => row.id === overrideId,
    );
    if (found === undefined) {
      throw new TollgateError('TOLLGATE_ERR_NOT_FOUND', `No override ${overrideId}`, {
        field: 'override',
      });
    }
    // An override that already ended keeps its end; one still running ends now.
    const endsAtMs = found.endsAtMs !== null && found.endsAtMs <= nowMs ? found.endsAtMs : nowMs;
    await tx.accounts.endOverride(customerId, overrideId, endsAtMs);
    return overrideJson({ ...found, endsAtMs });
  });
}

/** `GET /v1/customers/:id/explain?feature=&at=&user=`: the resolution trace of one feature. */
async function explain(context: RouteContext, request: ExplainRequest) {
  const customerId = assertIdentifier(request.params.id, 'id');
  const feature = readFeature(context, assertIdentifier(request.query.feature, 'feature'));
  const atText = request.query.at;
  const nowMs = context.clock();
  const atMs = atText === undefined ? nowMs : readOptionalInstant({ at: atText }, 'at')!;
  const user =
    request.query.user === undefined ? null : assertIdentifier(request.query.user, 'user');

  return context.store.transaction(request.principal.environment, async (tx) => {
    const customer = await loadCustomer(context, tx, customerId, nowMs);
    const resolution = await explainCustomer(tx, context.catalog, customer, atMs);
    const entry = resolution.entitlements.find((candidate) => candidate.feature === feature.key)!;
    const used =
      feature.kind === 'metered'
        ? await tx.getUsage(usageTotalKey(customerId, feature, entry.period))
        : null;
    const { seated } = await countSeats(tx, context.catalog, resolution, customerId);
    const seat = user === null ? null : seated.includes(user);
    return explainJson(customerId, resolution, entry, { used, user, seat });
  });
}

function readFeature(context: RouteContext, key: string): FeatureDefinition {
  const feature = context.catalog.features.get(key);
  if (feature === undefined) {
    throw new TollgateError('TOLLGATE_ERR_UNKNOWN_FEATURE', `feature: no feature ${key}`, {
      field: 'feature',
    });
  }
  return feature;
}

function readOverrideValue(
  feature: FeatureDefinition,
  body: Body,
): { access: boolean; limit: number | null } {
  const limited =
    feature.kind === 'config' || feature.kind === 'metered' || feature.kind === 'seats';
  if (!limited) {
    if (body.limit !== undefined)
      throw validationError('limit', `a ${feature.kind} feature has no limit`);
    if (body.access !== undefined && typeof body.access !== 'boolean') {
      throw validationError('access', 'expected true or false');
    }
    return { access: body.access !== false, limit: null };
  }
  if (body.limit === 'unlimited') return { access: true, limit: null };
  if (body.limit === undefined)
    throw validationError('limit', 'expected an integer or "unlimited"');
  return { access: true, limit: parseQuantity(body.limit, 'limit') };
}

function readRule(value: unknown): CombineRule {
  if (typeof value !== 'string' || !rules.includes(value as CombineRule)) {
    throw validationError('rule', `expected one of ${rules.join(', ')}`);
  }
  return value as CombineRule;
}

export function overrideJson(row: OverrideRow) {
  return {
    id: row.id,
    feature: row.feature,
    access: row.access,
    limit: row.limit,
    rule: row.rule,
    starts_at: formatInstant(row.startsAtMs),
    ends_at: formatInstant(row.endsAtMs),
    reference: row.reference,
  };
}
