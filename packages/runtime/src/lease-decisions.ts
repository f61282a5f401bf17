import { Reason, TollgateError, reasonName } from '@tollgate/core';
import type { Decision } from '@tollgate/core';
import type { Evaluator } from '@tollgate/evaluator';
import type { LeaseKeeper } from './lease-keeper.js';
import type { FeatureTerms } from './snapshot-sync.js';

export interface LeaseDecisionParts {
  evaluator: Evaluator;
  keeper: LeaseKeeper;
  terms: FeatureTerms | null;
}

/** A decision made within a lease, and the lease that covered it (null when denied). */
export interface LeasedDecision {
  decision: Decision;
  lease: string | null;
  /** What the lease gave, in pool units (credits, or the feature's unit). */
  cost: number;
  /** True when the snapshot allowed the use and only the slice fell short. */
  uncovered: boolean;
}

/** What one unit of the feature costs in its lease pool. */
export function unitCostOf(terms: FeatureTerms | null): number {
  return terms?.kind === 'credits' ? terms.costPerUnit : 1;
}

/**
 * Decides a use within the lease held, without waiting: the snapshot (with this
 * runtime's own uses) must allow it, and the live slice must cover its cost. When the
 * slice cannot, a grant starts in the background and the use is denied. An allowed use
 * is recorded in the evaluator too, so the decision's figures are the customer's as this
 * runtime knows them, not the slice's.
 */
export function decideInLease(
  parts: LeaseDecisionParts,
  customer: string,
  feature: string,
  quantity: number,
  nowMs: number,
  place: (index: number) => Decision,
): LeasedDecision {
  const index = parts.evaluator.featureIndex(feature);
  const checked = parts.evaluator.check(customer, index, quantity, nowMs);
  if (!checked.allowed) return { decision: checked, lease: null, cost: 0, uncovered: false };
  const cost = quantity * unitCostOf(parts.terms);
  const spent = parts.keeper.trySpend(customer, feature, cost, nowMs);
  if (spent === null) {
    parts.keeper.prefetch(customer, feature, cost);
    return { decision: leaseDenial(checked, parts.terms), lease: null, cost: 0, uncovered: true };
  }
  const decision = place(index);
  if (!decision.allowed) {
    parts.keeper.giveBack(customer, feature, spent.lease, cost);
    return { decision, lease: null, cost: 0, uncovered: false };
  }
  return { decision, lease: spent.lease, cost, uncovered: false };
}

/** `insufficient_credits` or `limit_exceeded` with the customer's figures from `checked`. */
export function leaseDenial(checked: Decision, terms: FeatureTerms | null): Decision {
  const reason = terms?.kind === 'credits' ? Reason.InsufficientCredits : Reason.LimitExceeded;
  return { ...checked, allowed: false, reason, reasonName: reasonName(reason), cost: 0 };
}

/**
 * The error a synchronous call gets for a feature in `strict` mode: it needs one
 * control-plane call per use, which a synchronous call cannot make.
 */
export function strictAsyncOnly(feature: string): TollgateError {
  return new TollgateError(
    'TOLLGATE_ERR_STRICT_ASYNC_ONLY',
    `feature: ${feature} is in strict mode; consume it with consumeAsync`,
    { field: 'feature' },
  );
}
