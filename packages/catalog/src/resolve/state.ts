import type { FeatureKindName } from '@tollgate/core';
import type { CombineRule, LimitBehaviorName } from '../types.js';
import type { Period } from '../periods.js';

/**
 * What resolution reads about one customer: every source of entitlements, as stored. No
 * field is a status that a job must keep current; every state change is an instant, and
 * resolution compares instants with `now`.
 */
export interface AccountState {
  customerId: string;
  createdAtMs: number;
  /** The zone the customer declared for wall-clock periods; null to use the plan's. */
  timeZone: string | null;
  subscription: SubscriptionState | null;
  /** The customer's trial; ignored when `trials` is given. */
  trial: TrialState | null;
  /**
   * Every trial the customer had, in any order. Resolution takes the one running at `now`,
   * else the latest that started before it, so a past instant sees the trial of its time.
   */
  trials?: readonly TrialState[];
  addons: readonly AddonHolding[];
  overrides: readonly OverrideState[];
}

export interface SubscriptionState {
  plan: string;
  /** The pinned plan version; it changes only by an explicit migration or plan change. */
  version: number;
  /** Billing periods and anchored resets count from here. */
  anchorMs: number;
  /** Seats bought; the limit of a seats entitlement declared as `quantity`. */
  quantity: number;
  /** Payment failed at this instant; entitlements hold for the grace period after it. */
  pastDueSinceMs: number | null;
  /** Paused from this instant until resumed (the field cleared). */
  pausedAtMs: number | null;
  /** Canceled from this instant: the moment of a cancel-now, or the period end. */
  cancelAtMs: number | null;
}

export interface TrialState {
  trial: string;
  plan: string;
  /** The version granted; the one published at `startsAtMs` when omitted. */
  version?: number;
  startsAtMs: number;
  /** Exclusive: at this instant the trial has ended. */
  endsAtMs: number;
}

export interface AddonHolding {
  addon: string;
  purchasedAtMs: number;
}

/** A per-customer value: a promotion or a sales deal. Highest precedence. */
export interface OverrideState {
  id: string;
  feature: string;
  /** False revokes access; limit features take `limit` (null for unlimited). */
  access: boolean;
  limit: number | null;
  /** How it combines with the value below it; `set` unless the override says otherwise. */
  rule: CombineRule;
  /** Inclusive; null for "since ever". */
  startsAtMs: number | null;
  /** Exclusive; null for "never ends". */
  endsAtMs: number | null;
}

export type SubscriptionStatus =
  'none' | 'trialing' | 'active' | 'past_due' | 'paused' | 'canceled';

/** Where the plan layer of a resolution came from. */
export interface PlanSource {
  plan: string;
  version: number;
  /** `subscription`, `trial`, or `fallback` (a lapsed subscription or an ended trial). */
  via: 'subscription' | 'trial' | 'fallback';
  /** Why this plan applies, as a sentence for the explain trace. */
  note: string;
}

export type SourceKind = 'plan' | 'trial' | 'fallback' | 'addon' | 'override';

/** One source considered for one feature, in the order it was applied. */
export interface TraceStep {
  source: SourceKind;
  /** `pro v1`, `extra_projects_25`, `override 7`. */
  name: string;
  /** `base` for the plan layer; the combine rule for every later source. */
  rule: CombineRule | 'base';
  /** False when the source exists but does not apply at `now` (not started, ended). */
  active: boolean;
  access: boolean;
  limit: number | null;
  /** The value after this step; equal to the value before when the step is inactive. */
  accessAfter: boolean;
  limitAfter: number | null;
  note: string;
}

export interface ResolvedEntitlement {
  feature: string;
  kind: FeatureKindName;
  access: boolean;
  /** Config, metered and seats features; null means unlimited (and always for others). */
  limit: number | null;
  behavior: LimitBehaviorName;
  /** Metered features: the usage period holding `now`; null when usage never resets. */
  period: Period | null;
  requiresSeat: boolean;
  /** The name of the source that decided the value: the last one that changed it. */
  winner: string | null;
  trace: TraceStep[];
}

export interface Resolution {
  atMs: number;
  status: SubscriptionStatus;
  plan: PlanSource | null;
  /** The zone wall-clock periods of this customer follow. */
  timeZone: string;
  /** One per catalog feature, in catalog order. */
  entitlements: ResolvedEntitlement[];
  /** The next instant after `now` at which any resolved value changes; null if none. */
  nextChangeAtMs: number | null;
}
