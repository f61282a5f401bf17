import type { Catalog, FeatureDefinition } from '../types.js';
import { periodAt } from '../periods.js';
import type { Period } from '../periods.js';
import { wallTimeAt, instantOf } from '../zoned-time.js';
import { combine, sameValue } from './combine.js';
import type { Value } from './combine.js';
import { overrideActive, overrideOrder } from './overrides.js';
import { choosePlan, iso } from './plan-source.js';
import type { PlanLayer } from './plan-source.js';
import type { AccountState, ResolvedEntitlement, Resolution, TraceStep } from './state.js';

/**
 * Resolves every feature of the catalog for one customer at `nowMs`, from the plan layer
 * (trial, subscription or fallback), then add-ons in purchase order, then overrides in
 * start order: each later source combines with the value below it by its rule. Pure: the
 * same catalog, state and instant always give the same answer, with a trace per feature
 * and the next instant at which anything changes.
 *
 * @example
 * const resolution = resolveAccount(catalog, state, Date.parse('2026-03-20T00:00:00Z'));
 * resolution.entitlements.find((entry) => entry.feature === 'max_projects')?.limit; // 75
 */
export function resolveAccount(catalog: Catalog, state: AccountState, nowMs: number): Resolution {
  const layer = choosePlan(catalog, state, nowMs);
  const timeZone = timeZoneOf(catalog, state);
  const changesMs = [...layer.changesMs];
  for (const override of state.overrides) {
    if (override.startsAtMs !== null) changesMs.push(override.startsAtMs);
    if (override.endsAtMs !== null) changesMs.push(override.endsAtMs);
  }
  for (const holding of state.addons) changesMs.push(holding.purchasedAtMs);

  const entitlements: ResolvedEntitlement[] = [];
  for (const feature of catalog.features.values()) {
    const entitlement = resolveFeature(catalog, feature, state, layer, nowMs);
    entitlement.period = usagePeriodOf(catalog, feature, state, nowMs);
    if (entitlement.period !== null) changesMs.push(entitlement.period.endMs);
    entitlements.push(entitlement);
  }

  const upcoming = changesMs.filter((instantMs) => instantMs > nowMs);
  return {
    atMs: nowMs,
    status: layer.status,
    plan: layer.source,
    timeZone,
    entitlements,
    nextChangeAtMs: upcoming.length === 0 ? null : Math.min(...upcoming),
  };
}

/** The zone of a customer's wall-clock periods: the customer's, the plan's, the catalog's. */
export function timeZoneOf(catalog: Catalog, state: AccountState): string {
  const plan = state.subscription === null ? undefined : catalog.plans.get(state.subscription.plan);
  return state.timeZone ?? plan?.timeZone ?? catalog.timeZone;
}

/**
 * The usage period of a metered feature holding `atMs`, or null when it never resets.
 * Anchored resets count from the subscription's anchor (the customer's creation without
 * one); calendar resets from local midnight of Monday 1 January 2001, which starts a day,
 * a week, a month and a year alike.
 */
export function usagePeriodOf(
  catalog: Catalog,
  feature: FeatureDefinition,
  state: AccountState,
  atMs: number,
): Period | null {
  if (feature.kind !== 'metered' || feature.reset === null) return null;
  const timeZone = timeZoneOf(catalog, state);
  const anchorMs =
    feature.reset.on === 'calendar'
      ? calendarAnchor(timeZone)
      : (state.subscription?.anchorMs ?? state.createdAtMs);
  return periodAt(anchorMs, feature.reset.every, atMs, {
    timeZone,
    interval: feature.reset.interval,
  });
}

const calendarAnchors = new Map<string, number>();

function calendarAnchor(timeZone: string): number {
  let anchorMs = calendarAnchors.get(timeZone);
  if (anchorMs === undefined) {
    const wall = { ...wallTimeAt(0, 'UTC'), year: 2001, month: 0, day: 1 };
    anchorMs = instantOf(wall, timeZone);
    calendarAnchors.set(timeZone, anchorMs);
  }
  return anchorMs;
}

function resolveFeature(
  catalog: Catalog,
  feature: FeatureDefinition,
  state: AccountState,
  layer: PlanLayer,
  nowMs: number,
): ResolvedEntitlement {
  const trace: TraceStep[] = [];
  const planned = layer.version?.entitlements.get(feature.key);
  const base: Value = {
    access: planned !== undefined,
    limit: planned?.limit === 'quantity' ? layer.quantity : (planned?.limit ?? null),
  };
  if (!hasLimit(feature)) base.limit = null;
  const baseName =
    layer.source === null ? 'no plan' : `${layer.source.plan} v${layer.source.version}`;
  const baseNote =
    (layer.source?.note ?? 'no subscription, trial or fallback applies') +
    (planned === undefined ? `; ${feature.key} is not in it` : '');
  trace.push(
    step(
      layer.source?.via === undefined ? 'plan' : sourceOf(layer),
      baseName,
      'base',
      true,
      base,
      base,
      base,
      baseNote,
    ),
  );

  let value = base;
  let winner: string | null = layer.source === null ? null : baseName;
  const apply = (entry: Omit<TraceStep, 'accessAfter' | 'limitAfter'>) => {
    const next = entry.active ? combine(value, entry.rule as never, entry) : value;
    if (!hasLimit(feature)) next.limit = null;
    if (entry.active && !sameValue(next, value)) winner = entry.name;
    trace.push({ ...entry, accessAfter: next.access, limitAfter: next.limit });
    value = next;
  };

  for (const holding of state.addons) {
    const change = catalog.addons.get(holding.addon)?.entitlements.get(feature.key);
    if (change === undefined) continue;
    const active = holding.purchasedAtMs <= nowMs;
    const note = active
      ? `bought ${iso(holding.purchasedAtMs)}`
      : `from ${iso(holding.purchasedAtMs)}`;
    apply({
      source: 'addon',
      name: holding.addon,
      rule: change.rule,
      active,
      access: true,
      limit: change.limit,
      note,
    });
  }
  const overrides = state.overrides.filter((override) => override.feature === feature.key);
  for (const override of [...overrides].sort(overrideOrder)) {
    const active = overrideActive(override, nowMs);
    const note = spanNote(override.startsAtMs, override.endsAtMs, nowMs);
    apply({
      source: 'override',
      name: `override ${override.id}`,
      rule: override.rule,
      active,
      access: override.access,
      limit: override.limit,
      note,
    });
  }

  return {
    feature: feature.key,
    kind: feature.kind,
    access: value.access,
    limit: value.access ? value.limit : hasLimit(feature) ? 0 : null,
    behavior: behaviorOf(catalog, feature, planned?.behavior),
    period: null,
    requiresSeat: feature.requiresSeat,
    winner,
    trace,
  };
}

function sourceOf(layer: PlanLayer): TraceStep['source'] {
  return layer.source?.via === 'subscription' ? 'plan' : (layer.source?.via ?? 'plan');
}

function step(
  source: TraceStep['source'],
  name: string,
  rule: TraceStep['rule'],
  active: boolean,
  value: Value,
  _below: Value,
  after: Value,
  note: string,
): TraceStep {
  return {
    source,
    name,
    rule,
    active,
    access: value.access,
    limit: value.limit,
    accessAfter: after.access,
    limitAfter: after.limit,
    note,
  };
}

function spanNote(startsAtMs: number | null, endsAtMs: number | null, nowMs: number): string {
  if (startsAtMs !== null && nowMs < startsAtMs) return `starts ${iso(startsAtMs)}`;
  if (endsAtMs !== null && endsAtMs <= nowMs) return `ended ${iso(endsAtMs)}`;
  return endsAtMs === null ? 'no end' : `until ${iso(endsAtMs)}`;
}

function behaviorOf(
  catalog: Catalog,
  feature: FeatureDefinition,
  planned: 'hard' | 'soft' | undefined,
): 'hard' | 'soft' {
  const currency = feature.currency === null ? undefined : catalog.currencies.get(feature.currency);
  return currency?.behavior ?? planned ?? 'hard';
}

function hasLimit(feature: FeatureDefinition): boolean {
  return feature.kind === 'config' || feature.kind === 'metered' || feature.kind === 'seats';
}
