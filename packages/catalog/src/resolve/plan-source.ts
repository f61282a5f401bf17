import { TollgateError } from '@tollgate/core';
import type { Catalog, PlanVersionDefinition } from '../types.js';
import type {
  AccountState,
  PlanSource,
  SubscriptionState,
  SubscriptionStatus,
  TrialState,
} from './state.js';

export interface PlanLayer {
  status: SubscriptionStatus;
  source: PlanSource | null;
  version: PlanVersionDefinition | null;
  /** Seats bought, for a seats limit declared as `quantity`. */
  quantity: number;
  /** Instants after which this choice may change. */
  changesMs: number[];
}

/**
 * Picks the plan version whose entitlements are the base layer at `nowMs`, by comparing
 * instants only: an active trial wins; otherwise the subscription's pinned version,
 * unless it is canceled, paused, or past due beyond the grace period, when the plan's
 * fallback applies (no plan at all when it declares none). With no subscription, an
 * ended trial falls back to the trial's fallback plan.
 */
export function choosePlan(catalog: Catalog, state: AccountState, nowMs: number): PlanLayer {
  const { subscription } = state;
  const trials = state.trials ?? (state.trial === null ? [] : [state.trial]);
  const trial = trialAt(trials, nowMs);
  const changesMs: number[] = [];
  for (const each of trials) changesMs.push(each.startsAtMs, each.endsAtMs);
  const quantity = subscription?.quantity ?? 1;

  if (trial !== null && trial.startsAtMs <= nowMs && nowMs < trial.endsAtMs) {
    const version = trialVersion(catalog, trial.plan, trial.version, trial.startsAtMs);
    const note = `trial ${trial.trial} runs until ${iso(trial.endsAtMs)}`;
    const source = { plan: trial.plan, version: version.version, via: 'trial' as const, note };
    return { status: 'trialing', source, version, quantity, changesMs };
  }
  const ended =
    trial !== null && nowMs >= trial.endsAtMs
      ? `trial ${trial.trial} ended ${iso(trial.endsAtMs)}`
      : '';

  if (subscription === null) {
    if (trial === null || nowMs < trial.startsAtMs) {
      return { status: 'none', source: null, version: null, quantity, changesMs };
    }
    const fallback = catalog.trials.get(trial.trial)?.fallbackPlan ?? null;
    return fallbackLayer(catalog, fallback, trial.endsAtMs, 'none', ended, quantity, changesMs);
  }
  return subscriptionLayer(catalog, subscription, nowMs, ended, changesMs);
}

/**
 * The trial that decides at `nowMs`: the one running then (the latest started, should two
 * overlap), else the latest that started before it; null when none had started.
 */
function trialAt(trials: readonly TrialState[], nowMs: number): TrialState | null {
  const started = trials
    .filter((trial) => trial.startsAtMs <= nowMs)
    .sort((left, right) => left.startsAtMs - right.startsAtMs);
  const running = started.filter((trial) => nowMs < trial.endsAtMs);
  return running.at(-1) ?? started.at(-1) ?? null;
}

function subscriptionLayer(
  catalog: Catalog,
  subscription: SubscriptionState,
  nowMs: number,
  ended: string,
  changesMs: number[],
): PlanLayer {
  const { cancelAtMs, pausedAtMs, pastDueSinceMs, quantity } = subscription;
  const fallback = catalog.plans.get(subscription.plan)?.fallbackPlan ?? null;
  for (const instantMs of [cancelAtMs, pausedAtMs])
    if (instantMs !== null) changesMs.push(instantMs);

  if (cancelAtMs !== null && cancelAtMs <= nowMs) {
    const note = `canceled ${iso(cancelAtMs)}`;
    return fallbackLayer(catalog, fallback, cancelAtMs, 'canceled', note, quantity, changesMs);
  }
  if (pausedAtMs !== null && pausedAtMs <= nowMs) {
    const note = `paused ${iso(pausedAtMs)}`;
    return fallbackLayer(catalog, fallback, pausedAtMs, 'paused', note, quantity, changesMs);
  }
  let status: SubscriptionStatus = 'active';
  let note = `subscribed to ${subscription.plan} v${subscription.version}`;
  if (pastDueSinceMs !== null) {
    const graceEndMs = pastDueSinceMs + catalog.lifecycle.gracePeriodMs;
    changesMs.push(graceEndMs);
    status = 'past_due';
    if (graceEndMs <= nowMs) {
      note = `past due since ${iso(pastDueSinceMs)}; grace ended ${iso(graceEndMs)}`;
      return fallbackLayer(catalog, fallback, graceEndMs, status, note, quantity, changesMs);
    }
    note += `; past due, in grace until ${iso(graceEndMs)}`;
  }
  const version = pinnedVersion(catalog, subscription.plan, subscription.version);
  const source = {
    plan: subscription.plan,
    version: version.version,
    via: 'subscription' as const,
    note: ended === '' ? note : `${ended}; ${note}`,
  };
  return { status, source, version, quantity, changesMs };
}

/** The fallback plan's version published by the instant the customer fell back. */
function fallbackLayer(
  catalog: Catalog,
  planKey: string | null,
  sinceMs: number,
  status: SubscriptionStatus,
  note: string,
  quantity: number,
  changesMs: number[],
): PlanLayer {
  if (planKey === null) {
    return { status, source: null, version: null, quantity, changesMs };
  }
  const version = trialVersion(catalog, planKey, undefined, sinceMs);
  const source = {
    plan: planKey,
    version: version.version,
    via: 'fallback' as const,
    note: `${note}; falls back to ${planKey}`,
  };
  return { status, source, version, quantity, changesMs };
}

/** The version asked for, or else the highest published at or before `atMs`. */
export function trialVersion(
  catalog: Catalog,
  planKey: string,
  version: number | undefined,
  atMs: number,
): PlanVersionDefinition {
  if (version !== undefined) return pinnedVersion(catalog, planKey, version);
  const versions = catalog.plans.get(planKey)?.versions ?? [];
  const published = versions.filter((candidate) => candidate.publishedAtMs <= atMs);
  // A plan published after the instant still applies with its first version, rather
  // than leaving the customer with nothing.
  const found = published.at(-1) ?? versions[0];
  if (found === undefined) throw missingVersion(planKey, 'any');
  return found;
}

export function pinnedVersion(
  catalog: Catalog,
  planKey: string,
  version: number,
): PlanVersionDefinition {
  const found = catalog.plans.get(planKey)?.versions.find((entry) => entry.version === version);
  if (found === undefined) throw missingVersion(planKey, String(version));
  return found;
}

function missingVersion(planKey: string, version: string): TollgateError {
  return new TollgateError('TOLLGATE_ERR_CATALOG_INVALID', 'A pinned plan version is missing', {
    detail: `the catalog has no ${planKey} version ${version}, which a customer uses`,
  });
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
