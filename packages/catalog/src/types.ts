import type { FeatureKindName } from '@tollgate/core';

/**
 * A validated catalog, normalised from the YAML file (snake_case there, camelCase here).
 * Instants are epoch milliseconds (UTC); amounts are integers in the smallest unit.
 * Maps keep the file's order, which is also the feature order of every snapshot.
 */
export interface Catalog {
  /** The catalog file's schema version. */
  schemaVersion: 1;
  currencies: Map<string, CurrencyDefinition>;
  features: Map<string, FeatureDefinition>;
  plans: Map<string, PlanDefinition>;
  addons: Map<string, AddonDefinition>;
  trials: Map<string, TrialDefinition>;
  /** The zone of wall-clock periods when neither the customer nor the plan declares one. */
  timeZone: string;
  lifecycle: LifecycleSettings;
  seats: SeatSettings;
}

export interface LifecycleSettings {
  /** How long a past-due subscription keeps its entitlements before the fallback applies. */
  gracePeriodMs: number;
}

export interface SeatSettings {
  /** Whether the account's buyer takes one of the seats bought. Quillstone: no. */
  buyerOccupiesSeat: boolean;
}

/**
 * How a source's value combines with the value below it: `sum` adds to a limit, `set`
 * replaces it, `max` keeps the more generous, `or` grants access if either grants it.
 */
export type CombineRule = 'sum' | 'set' | 'max' | 'or';

export type LimitBehaviorName = 'hard' | 'soft';
export type CreditCategory = 'paid' | 'promotional';
export type PeriodUnit = 'hour' | 'day' | 'week' | 'month' | 'year';

/** One rule of a burn order; grants are compared rule by rule until one differs. */
export type BurnRule = 'priority' | 'promotional_first' | 'soonest_expiry' | 'oldest';

export interface CurrencyDefinition {
  key: string;
  /** Digits after the decimal point when displayed: 3 means amounts count thousandths. */
  displayScale: number;
  /** Every debit of this currency is hard or soft limited. */
  behavior: LimitBehaviorName;
  burnOrder: BurnRule[];
  /** Soft currencies: the most a balance may go below zero; null for no bound. */
  overageCapAmount: number | null;
}

export interface FeatureDefinition {
  key: string;
  kind: FeatureKindName;
  /** Credits features: the currency spent, and what one unit costs in it. */
  currency: string | null;
  cost: number;
  /** Metered features: how usage resets. */
  reset: ResetDefinition | null;
  /** A user of the account must hold a seat to use this feature. */
  requiresSeat: boolean;
  /**
   * How add-on entries written as a bare value (`25`, `unlimited`, `true`) combine with the
   * value below them: the feature's `combine:`, else `or` for boolean and credits features
   * and `sum` for the others.
   */
  combine: CombineRule;
  /** The rule of an override that states none: the feature's `combine:`, else `set`. */
  overrideRule: CombineRule;
}

export interface ResetDefinition {
  every: PeriodUnit;
  /** `anchor`: periods start at the subscription's anchor; `calendar`: at calendar bounds. */
  on: 'anchor' | 'calendar';
  /** Units per period, at least 1: `every: day, interval: 7` resets weekly from the anchor. */
  interval: number;
}

export interface PlanDefinition {
  key: string;
  /** Sorted by version number, ascending. */
  versions: PlanVersionDefinition[];
  /** The zone of this plan's wall-clock periods, unless the customer declares one. */
  timeZone: string | null;
  /** The plan a canceled, paused or past-due (after grace) subscription falls back to. */
  fallbackPlan: string | null;
  /**
   * The billing period, counted from the subscription's anchor in the customer's or plan's
   * zone: a cancellation at period end takes effect at its end. Monthly unless declared.
   */
  billing: { every: PeriodUnit; interval: number };
}

export interface PlanVersionDefinition {
  plan: string;
  version: number;
  /** A subscription created at `t` pins the highest version published at or before `t`. */
  publishedAtMs: number;
  /** Features the plan grants. A feature absent here is not granted (`no_access`). */
  entitlements: Map<string, EntitlementDefinition>;
  /** Credits granted at the start of every billing period. */
  recurringGrants: RecurringGrantDefinition[];
}

export interface EntitlementDefinition {
  /** Config, metered and seats limits: null means unlimited; `quantity` means bought seats. */
  limit: number | null | 'quantity';
  behavior: LimitBehaviorName;
}

export interface RecurringGrantDefinition {
  currency: string;
  amount: number;
  category: CreditCategory;
  priority: number;
  every: PeriodUnit;
  /** The grant expires when the period it was granted for ends. */
  expiresAtPeriodEnd: boolean;
  /** Multiply `amount` by the subscription's quantity (credits per seat, pooled). */
  perUnit: boolean;
  /** Total paid for one grant, in minor units of `costBasisCurrency`; 0 when promotional. */
  costBasis: number;
  costBasisCurrency: string;
  /**
   * The most unused credits (this period's and those it rolled in) carried into the next
   * period as a rollover grant that expires with it; null when nothing rolls over.
   */
  rolloverMax: number | null;
}

export interface AddonDefinition {
  key: string;
  /** Changes to the plan's entitlements while the add-on is held. */
  entitlements: Map<string, AddonChange>;
  /** A one-time grant on purchase. */
  grant: OneTimeGrantDefinition | null;
}

/** One add-on entry: the value it contributes and the rule that combines it. */
export interface AddonChange {
  rule: CombineRule;
  /** Null means unlimited; ignored for features without a limit. */
  limit: number | null;
}

export interface OneTimeGrantDefinition {
  currency: string;
  amount: number;
  category: CreditCategory;
  priority: number;
  /** Months after the purchase at which the grant expires; null for never. */
  expiresAfterMonths: number | null;
  costBasis: number;
  costBasisCurrency: string;
}

export interface TrialDefinition {
  key: string;
  plan: string;
  days: number;
  /** The plan the customer falls back to when the trial ends. */
  fallbackPlan: string;
}
