import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  TollgateError,
  assertIdentifier,
  parsePositiveQuantity,
  validationError,
} from '@tollgate/core';
import { periodAt } from '@tollgate/catalog';
import { assertQuantityFits, findPlanVersion, pickPlanVersion } from '../plan-versions.js';
import type { LifecycleRow } from '../store/account-store.js';
import type { StoreTransaction, SubscriptionRow } from '../store/store.js';
import { formatInstant, readBody, readChoice } from '../http/body.js';
import type { RouteContext } from './route-context.js';
import { loadCustomer } from './route-context.js';

type CustomerRequest = FastifyRequest<{ Params: { id: string } }>;
type PlanRequest = FastifyRequest<{ Params: { plan: string } }>;

const events = ['past_due', 'paid', 'pause', 'resume', 'cancel', 'cancel_at_period_end'] as const;

/**
 * Subscription lifecycle, plan and quantity changes, and plan-version migrations. Every
 * change keeps the anchor, so usage counted in the current period carries over and the
 * new limits apply from the instant of the change. Admin keys only.
 */
export function registerSubscriptionRoutes(app: FastifyInstance, context: RouteContext): void {
  app.post('/v1/customers/:id/subscription/events', (request: CustomerRequest) =>
    recordEvent(context, request),
  );
  app.post('/v1/customers/:id/subscription/change', (request: CustomerRequest) =>
    changePlan(context, request),
  );
  app.post('/v1/plans/:plan/migrations', (request: PlanRequest) => migrate(context, request));
}

/**
 * Records a lifecycle event as an instant: `past_due` (payment failed; the grace period
 * starts), `paid` (clears it), `pause`/`resume`, `cancel` (now) and
 * `cancel_at_period_end` (at the end of the current billing period).
 */
async function recordEvent(context: RouteContext, request: CustomerRequest) {
  const customerId = assertIdentifier(request.params.id, 'id');
  const event = readChoice(readBody(request.body), 'event', events);
  const nowMs = context.clock();
  return context.store.transaction(request.principal.environment, async (tx) => {
    const subscription = await currentSubscription(context, tx, customerId, nowMs);
    const lifecycle = await tx.accounts.getLifecycle(subscription.id);
    const next: LifecycleRow = { ...lifecycle };
    if (lifecycle.cancelAtMs !== null && lifecycle.cancelAtMs <= nowMs) {
      throw new TollgateError('TOLLGATE_ERR_CONFLICT', 'event: the subscription is canceled', {
        field: 'event',
      });
    }
    if (event === 'past_due') next.pastDueSinceMs = lifecycle.pastDueSinceMs ?? nowMs;
    if (event === 'paid') next.pastDueSinceMs = null;
    if (event === 'pause') next.pausedAtMs = lifecycle.pausedAtMs ?? nowMs;
    if (event === 'resume' && lifecycle.pausedAtMs !== null) {
      // The periods that started during the pause are never granted; the one in progress
      // is granted now (the rollover above ran while still paused, so it granted none).
      next.pausedAtMs = null;
      next.recurringFromMs = nowMs;
    }
    if (event === 'cancel') next.cancelAtMs = nowMs;
    if (event === 'cancel_at_period_end') {
      next.cancelAtMs = await billingPeriodEnd(context, tx, subscription, nowMs);
    }
    await tx.accounts.setLifecycle(subscription.id, next, nowMs);
    return lifecycleJson(subscription, next);
  });
}

/** Changes plan, version or quantity mid-period; an active trial ends at the change. */
async function changePlan(context: RouteContext, request: CustomerRequest) {
  const customerId = assertIdentifier(request.params.id, 'id');
  const body = readBody(request.body);
  const nowMs = context.clock();
  return context.store.transaction(request.principal.environment, async (tx) => {
    const subscription = await currentSubscription(context, tx, customerId, nowMs);
    const plan = body.plan === undefined ? subscription.plan : assertIdentifier(body.plan, 'plan');
    const version =
      body.version === undefined ? undefined : parsePositiveQuantity(body.version, 'version');
    const pinned =
      plan === subscription.plan && version === undefined
        ? findPlanVersion(context.catalog, plan, subscription.planVersion)
        : pickPlanVersion(context.catalog, plan, version, nowMs);
    const quantity =
      body.quantity === undefined
        ? subscription.quantity
        : parsePositiveQuantity(body.quantity, 'quantity');
    assertQuantityFits(pinned, quantity);
    // The rollover in `currentSubscription` granted the periods so far under the old plan;
    // the new plan's grants start from the period in progress, at the change.
    await tx.accounts.changeSubscription(
      subscription.id,
      {
        plan,
        planVersion: pinned.version,
        quantity,
      },
      nowMs,
    );
    await restartRecurringGrants(tx, subscription.id, nowMs);
    const trial = await tx.accounts.getTrial(customerId);
    if (trial !== null && trial.startsAtMs <= nowMs && nowMs < trial.endsAtMs) {
      await tx.accounts.setTrialEnd(trial.id, nowMs);
    }
    const changed = { ...subscription, plan, planVersion: pinned.version, quantity };
    return lifecycleJson(changed, await tx.accounts.getLifecycle(subscription.id));
  });
}

/**
 * Moves every customer pinned to `from_version` of a plan (or only `customer`) to
 * `to_version`. Anchors and usage stay: the current period's usage counts against the
 * new version's limits. Versions published later than now are refused.
 */
async function migrate(context: RouteContext, request: PlanRequest) {
  const plan = assertIdentifier(request.params.plan, 'plan');
  const body = readBody(request.body);
  const fromVersion = parsePositiveQuantity(body.from_version, 'from_version');
  const nowMs = context.clock();
  const target = pickPlanVersion(
    context.catalog,
    plan,
    parsePositiveQuantity(body.to_version, 'to_version'),
    nowMs,
    'to_version',
  );
  if (!context.catalog.plans.get(plan)!.versions.some((entry) => entry.version === fromVersion)) {
    throw validationError('from_version', `${plan} has no version ${fromVersion}`);
  }
  const only = body.customer === undefined ? null : assertIdentifier(body.customer, 'customer');

  return context.store.transaction(request.principal.environment, async (tx) => {
    const pinned = await tx.accounts.listSubscriptionsOn(plan, fromVersion);
    const chosen = only === null ? pinned : pinned.filter((row) => row.customerId === only);
    if (only !== null && chosen.length === 0) {
      throw validationError('customer', `${only} is not on ${plan} version ${fromVersion}`);
    }
    for (const row of chosen) {
      await loadCustomer(context, tx, row.customerId, nowMs);
      const subscription = (await tx.getSubscription(row.customerId))!;
      await tx.accounts.changeSubscription(
        row.id,
        {
          plan,
          planVersion: target.version,
          quantity: subscription.quantity,
        },
        nowMs,
      );
      await restartRecurringGrants(tx, row.id, nowMs);
    }
    return {
      plan,
      from_version: fromVersion,
      to_version: target.version,
      migrated: chosen.map((row) => row.customerId),
    };
  });
}

/**
 * The end of the billing period holding `nowMs`: the plan's billing interval counted from
 * the anchor, on the wall clock of the customer's zone, else the plan's, else the
 * catalog's (the zone metered periods follow too).
 */
async function billingPeriodEnd(
  context: RouteContext,
  tx: StoreTransaction,
  subscription: SubscriptionRow,
  nowMs: number,
): Promise<number> {
  const plan = context.catalog.plans.get(subscription.plan)!;
  const timeZone =
    (await tx.accounts.getTimeZone(subscription.customerId)) ??
    plan.timeZone ??
    context.catalog.timeZone;
  const options = { timeZone, interval: plan.billing.interval };
  return periodAt(subscription.anchorMs, plan.billing.every, nowMs, options).endMs;
}

/**
 * Makes the recurring grants of a changed plan start from the period holding `nowMs`, at
 * `nowMs`, instead of from the anchor: a slot the old plan lacked is not granted for the
 * periods before the change, and a slot granted this period is not granted again.
 */
async function restartRecurringGrants(tx: StoreTransaction, subscriptionId: number, nowMs: number) {
  const lifecycle = await tx.accounts.getLifecycle(subscriptionId);
  await tx.accounts.setLifecycle(subscriptionId, { ...lifecycle, recurringFromMs: nowMs }, nowMs);
}

async function currentSubscription(
  context: RouteContext,
  tx: StoreTransaction,
  customerId: string,
  nowMs: number,
): Promise<SubscriptionRow> {
  await loadCustomer(context, tx, customerId, nowMs);
  const subscription = await tx.getSubscription(customerId);
  if (subscription === null) {
    throw new TollgateError('TOLLGATE_ERR_NOT_FOUND', `No subscription for ${customerId}`, {
      field: 'id',
    });
  }
  return subscription;
}

function lifecycleJson(subscription: SubscriptionRow, lifecycle: LifecycleRow) {
  return {
    id: subscription.id,
    customer: subscription.customerId,
    plan: subscription.plan,
    version: subscription.planVersion,
    quantity: subscription.quantity,
    anchor: formatInstant(subscription.anchorMs),
    past_due_since: formatInstant(lifecycle.pastDueSinceMs),
    paused_at: formatInstant(lifecycle.pausedAtMs),
    cancel_at: formatInstant(lifecycle.cancelAtMs),
  };
}
