import { Reason, reasonName } from '@tollgate/core';
import type { Decision } from '@tollgate/core';
import type { FallbackPolicy, FeaturePolicy } from './options.js';

/** What a synchronous decision does with a policy: `ask` cannot wait, so it uses `otherwise`. */
export function immediate(policy: FallbackPolicy): 'allow' | 'deny' {
  return typeof policy === 'string' ? policy : policy.ask.otherwise;
}

/** The policy for a decision that needs one, or null when the snapshot's answer stands. */
export function fallbackFor(
  decision: Decision,
  policy: FeaturePolicy | undefined,
  whenStale: FallbackPolicy | null,
): { policy: FallbackPolicy; reason: Reason } | null {
  if (decision.reason === Reason.UnknownCustomer) {
    return { policy: policy?.whenUnknownCustomer ?? 'deny', reason: Reason.UnknownCustomer };
  }
  if (whenStale !== null) return { policy: whenStale, reason: Reason.StaleSnapshot };
  return null;
}

/**
 * A decision made by a policy rather than the snapshot. `figures`, when given, supplies
 * the customer's limit, used, remaining and reset from the snapshot held; without it
 * (an unknown customer) there are none.
 */
export function policyDecision(
  allowed: boolean,
  reason: Reason,
  snapshotVersion: number,
  figures?: Decision,
): Decision {
  const final = allowed ? Reason.Allowed : reason;
  return {
    allowed,
    reason: final,
    reasonName: reasonName(final),
    limit: figures?.limit ?? null,
    used: figures?.used ?? 0,
    remaining: figures?.remaining ?? null,
    cost: 0,
    resetAtMs: figures?.resetAtMs ?? 0,
    snapshotVersion,
  };
}
