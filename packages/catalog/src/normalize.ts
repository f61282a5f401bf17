import type { CatalogFile } from './schema.js';
import { formatPath, invalid } from './paths.js';
import { isTimeZone } from './zoned-time.js';
import { rulesFor } from './resolve/rules.js';
import type {
  AddonChange,
  AddonDefinition,
  CombineRule,
  Catalog,
  CurrencyDefinition,
  EntitlementDefinition,
  FeatureDefinition,
  PlanDefinition,
  PlanVersionDefinition,
  TrialDefinition,
} from './types.js';

/**
 * Turns a schema-valid file into a `Catalog`, checking what a schema cannot: references
 * between sections, and rules that depend on a feature's kind. The first problem found
 * is thrown with the path of the field at fault.
 */
export function normalizeCatalog(file: CatalogFile): Catalog {
  requireTimeZone(file.time_zone, ['time_zone']);
  const currencies = new Map<string, CurrencyDefinition>();
  for (const [key, currency] of Object.entries(file.currencies)) {
    if (currency.overage_cap !== undefined && currency.behavior !== 'soft') {
      fail(['currencies', key, 'overage_cap'], 'only for a soft currency');
    }
    currencies.set(key, {
      key,
      displayScale: currency.display_scale,
      behavior: currency.behavior,
      burnOrder: currency.burn_order,
      overageCapAmount: currency.overage_cap ?? null,
    });
  }

  const features = new Map<string, FeatureDefinition>();
  for (const [key, feature] of Object.entries(file.features)) {
    features.set(key, normalizeFeature(key, feature, currencies));
  }
  checkSeatFeatures(features);

  const plans = new Map<string, PlanDefinition>();
  for (const [key, plan] of Object.entries(file.plans)) {
    const versions = plan.versions.map((version, index) =>
      normalizeVersion(key, index, version, features, currencies),
    );
    checkVersionOrder(key, versions);
    if (plan.time_zone !== undefined) requireTimeZone(plan.time_zone, ['plans', key, 'time_zone']);
    const timeZone = plan.time_zone ?? null;
    const billing = { every: plan.billing.every, interval: plan.billing.interval };
    const fallbackPlan = plan.fallback_plan ?? null;
    plans.set(key, { key, versions, timeZone, fallbackPlan, billing });
  }
  checkFallbackChains(plans);

  const addons = new Map<string, AddonDefinition>();
  for (const [key, addon] of Object.entries(file.addons)) {
    addons.set(key, normalizeAddon(key, addon, features, currencies));
  }

  const trials = new Map<string, TrialDefinition>();
  for (const [key, trial] of Object.entries(file.trials)) {
    requireKey(plans, trial.plan, ['trials', key, 'plan'], 'plan');
    requireKey(plans, trial.fallback_plan, ['trials', key, 'fallback_plan'], 'plan');
    trials.set(key, { key, plan: trial.plan, days: trial.days, fallbackPlan: trial.fallback_plan });
  }

  return {
    schemaVersion: 1,
    currencies,
    features,
    plans,
    addons,
    trials,
    timeZone: file.time_zone,
    lifecycle: { gracePeriodMs: file.lifecycle.grace_period_days * 86_400_000 },
    seats: { buyerOccupiesSeat: file.seats.buyer_occupies_seat },
  };
}

/** Default combine rules: limits add up, access is granted by any source. */
function defaultCombine(feature: FileFeature): CombineRule {
  return feature.kind === 'boolean' || feature.kind === 'credits' ? 'or' : 'sum';
}

function requireTimeZone(timeZone: string, path: PropertyKey[]): void {
  if (!isTimeZone(timeZone)) fail(path, `unknown time zone "${timeZone}"`);
}

/** Seat-requiring features count against the account's one seats feature. */
function checkSeatFeatures(features: Map<string, FeatureDefinition>): void {
  const seats = [...features.values()].filter((feature) => feature.kind === 'seats');
  if (seats.length > 1) fail(['features', seats[1]!.key, 'kind'], 'only one seats feature');
  const needy = [...features.values()].find((feature) => feature.requiresSeat);
  if (needy !== undefined && seats.length === 0) {
    fail(['features', needy.key, 'requires_seat'], 'no seats feature to hold seats');
  }
}

/**
 * A customer who falls back lands on the fallback plan, whose own fallback applies when
 * that subscription lapses in turn; a chain that returns to a plan it passed would never
 * end, so every chain must reach a plan without a fallback.
 */
function checkFallbackChains(plans: Map<string, PlanDefinition>): void {
  for (const plan of plans.values()) {
    if (plan.fallbackPlan === null) continue;
    const path = ['plans', plan.key, 'fallback_plan'];
    requireKey(plans, plan.fallbackPlan, path, 'plan');
    const seen = new Set([plan.key]);
    let next: string | null = plan.fallbackPlan;
    while (next !== null) {
      if (seen.has(next)) fail(path, `fallback chain returns to "${next}": a cycle`);
      seen.add(next);
      next = plans.get(next)?.fallbackPlan ?? null;
    }
  }
}

type FileFeature = CatalogFile['features'][string];

function normalizeFeature(
  key: string,
  feature: FileFeature,
  currencies: Map<string, CurrencyDefinition>,
): FeatureDefinition {
  const path = ['features', key];
  if (feature.kind === 'credits') {
    if (feature.currency === undefined) fail([...path, 'currency'], 'required for credits');
    requireKey(currencies, feature.currency, [...path, 'currency'], 'currency');
    if (feature.cost === undefined) fail([...path, 'cost'], 'required for credits');
  } else {
    if (feature.currency !== undefined) fail([...path, 'currency'], 'only for credits');
    if (feature.cost !== undefined) fail([...path, 'cost'], 'only for credits');
  }
  if (feature.reset !== undefined && feature.kind !== 'metered') {
    fail([...path, 'reset'], 'only for metered features');
  }
  const combine = feature.combine ?? defaultCombine(feature);
  const allowed = rulesFor(feature.kind);
  if (!allowed.includes(combine)) {
    fail([...path, 'combine'], `a ${feature.kind} feature combines by ${allowed.join(', ')}`);
  }
  return {
    key,
    kind: feature.kind,
    currency: feature.currency ?? null,
    cost: feature.cost ?? 0,
    reset: feature.reset ?? null,
    requiresSeat: feature.requires_seat,
    combine,
    overrideRule: feature.combine ?? 'set',
  };
}

type FileVersion = CatalogFile['plans'][string]['versions'][number];

function normalizeVersion(
  plan: string,
  index: number,
  version: FileVersion,
  features: Map<string, FeatureDefinition>,
  currencies: Map<string, CurrencyDefinition>,
): PlanVersionDefinition {
  const path = ['plans', plan, 'versions', index];
  const entitlements = new Map<string, EntitlementDefinition>();
  for (const [key, value] of Object.entries(version.entitlements)) {
    const at = [...path, 'entitlements', key];
    const feature = requireKey(features, key, at, 'feature');
    const limit = value === true ? undefined : value.limit;
    if (limit === 'quantity' && feature.kind !== 'seats') {
      fail([...at, 'limit'], '"quantity" is only for seats');
    }
    if (limit !== undefined && !hasLimit(feature)) {
      fail([...at, 'limit'], `a ${feature.kind} feature has no limit`);
    }
    const behavior = value === true ? undefined : value.behavior;
    entitlements.set(key, {
      limit: limit === undefined || limit === 'unlimited' ? null : limit,
      behavior: behavior ?? 'hard',
    });
  }

  const recurringGrants = version.credits.map((grant, grantIndex) => {
    requireKey(
      currencies,
      grant.currency,
      [...path, 'credits', grantIndex, 'currency'],
      'currency',
    );
    // Carried credits expire with the next period; a grant that never expires has
    // nothing to carry, so a rollover on it is a mistake in the file.
    if (grant.rollover_max !== undefined && grant.expires !== 'period_end') {
      fail([...path, 'credits', grantIndex, 'rollover_max'], 'only with expires: period_end');
    }
    return {
      currency: grant.currency,
      amount: grant.amount,
      category: grant.category,
      priority: grant.priority,
      every: grant.every,
      expiresAtPeriodEnd: grant.expires === 'period_end',
      perUnit: grant.per_unit,
      costBasis: grant.category === 'promotional' ? 0 : grant.cost_basis,
      costBasisCurrency: grant.cost_basis_currency,
      rolloverMax: grant.rollover_max ?? null,
    };
  });

  return {
    plan,
    version: version.version,
    publishedAtMs: Date.parse(version.published_at),
    entitlements,
    recurringGrants,
  };
}

function checkVersionOrder(plan: string, versions: PlanVersionDefinition[]): void {
  for (let index = 1; index < versions.length; index += 1) {
    const previous = versions[index - 1]!;
    const current = versions[index]!;
    const path = ['plans', plan, 'versions', index];
    if (current.version <= previous.version) {
      fail([...path, 'version'], 'expected versions in ascending order, each used once');
    }
    if (current.publishedAtMs < previous.publishedAtMs) {
      fail([...path, 'published_at'], 'expected no earlier than the previous version');
    }
  }
}

type FileAddon = CatalogFile['addons'][string];

function normalizeAddon(
  key: string,
  addon: FileAddon,
  features: Map<string, FeatureDefinition>,
  currencies: Map<string, CurrencyDefinition>,
): AddonDefinition {
  const entitlements: AddonDefinition['entitlements'] = new Map();
  for (const [featureKey, change] of Object.entries(addon.entitlements)) {
    const at = ['addons', key, 'entitlements', featureKey];
    const feature = requireKey(features, featureKey, at, 'feature');
    entitlements.set(featureKey, addonChange(feature, change, at));
  }

  const grant = addon.grant;
  if (grant !== undefined) {
    requireKey(currencies, grant.currency, ['addons', key, 'grant', 'currency'], 'currency');
  }
  return {
    key,
    entitlements,
    grant:
      grant === undefined
        ? null
        : {
            currency: grant.currency,
            amount: grant.amount,
            category: grant.category,
            priority: grant.priority,
            expiresAfterMonths: grant.expires_after_months ?? null,
            costBasis: grant.category === 'promotional' ? 0 : grant.cost_basis,
            costBasisCurrency: grant.cost_basis_currency,
          },
  };
}

type FileAddonChange = FileAddon['entitlements'][string];

function addonChange(
  feature: FeatureDefinition,
  change: FileAddonChange,
  at: PropertyKey[],
): AddonChange {
  if (change === true) {
    if (hasLimit(feature)) fail(at, `a ${feature.kind} feature takes a limit, not true`);
    return { rule: feature.combine, limit: null };
  }
  if (!hasLimit(feature)) fail(at, `a ${feature.kind} feature has no limit to change`);
  const limitOf = (value: number | 'unlimited') => (value === 'unlimited' ? null : value);
  if (typeof change === 'number' || change === 'unlimited') {
    return { rule: feature.combine, limit: limitOf(change) };
  }
  if ('add' in change) return { rule: 'sum', limit: change.add };
  if ('set' in change) return { rule: 'set', limit: limitOf(change.set) };
  return { rule: 'max', limit: limitOf(change.max) };
}

function hasLimit(feature: FeatureDefinition): boolean {
  return feature.kind === 'config' || feature.kind === 'metered' || feature.kind === 'seats';
}

function requireKey<T>(map: Map<string, T>, key: string, path: PropertyKey[], noun: string): T {
  const value = map.get(key);
  if (value === undefined) fail(path, `unknown ${noun} "${key}"`);
  return value;
}

function fail(path: PropertyKey[], expected: string): never {
  const field = formatPath(path);
  throw invalid(field, `${field}: ${expected}`);
}
