import { Reason, reasonName } from '@tollgate/core';
import type { Decision } from '@tollgate/core';
import type { Evaluator } from '@tollgate/evaluator';
import type { ControlPlaneClient } from './control-plane-client.js';
import { fallbackFor, immediate, policyDecision } from './fallback.js';
import type { LeaseKeeper } from './lease-keeper.js';
import { decideInLease, leaseDenial, unitCostOf } from './lease-decisions.js';
import type { FallbackPolicy, FeaturePolicy } from './options.js';
import type { FeatureTerms } from './snapshot-sync.js';

export interface SharedParts {
  evaluator: Evaluator;
  client: ControlPlaneClient;
  keeper: LeaseKeeper;
  terms: FeatureTerms | null;
  policy: FeaturePolicy | undefined;
  /** The stale policy that applies (snapshot or customer entry stale), or null. */
  whenStale: FallbackPolicy | null;
  /**
   * Queues the usage event of an allowed use (under a lease when one is named), keyed
   * with the decision's event key.
   */
  record: (quantity: number, lease: string | undefined) => void;
}

/** Reasons the snapshot settles on its own: a lease or the control plane cannot change them. */
const finalReasons = new Set([Reason.UnknownFeature, Reason.NoAccess, Reason.NoSeat]);

/**
 * Decides a consume across instances: within a lease, by one strict control-plane call,
 * or by asking the control plane when the snapshot is stale or lacks the customer.
 * Access comes from the snapshot; the quantity is decided by the lease or the call.
 */
export async function consumeShared(
  parts: SharedParts,
  customer: string,
  feature: string,
  quantity: number,
  nowMs: number,
  key: string,
): Promise<Decision> {
  const index = parts.evaluator.featureIndex(feature);
  const checked = parts.evaluator.check(customer, index, quantity, nowMs);
  if (finalReasons.has(checked.reason)) return checked;
  const fallback = fallbackFor(checked, parts.policy, parts.whenStale);
  const mode = parts.policy?.mode ?? 'local';
  if (fallback === null) {
    if (mode === 'strict') return strict(parts, customer, feature, quantity, nowMs, key);
    return leased(parts, customer, feature, quantity, nowMs);
  }
  if (typeof fallback.policy !== 'string') {
    const { timeoutMs } = fallback.policy.ask;
    const asked = await withTimeout(
      strict(parts, customer, feature, quantity, nowMs, key),
      timeoutMs,
    );
    if (asked !== null) return asked;
  }
  if (immediate(fallback.policy) === 'deny') {
    const figures = fallback.reason === Reason.StaleSnapshot ? checked : undefined;
    return policyDecision(false, fallback.reason, checked.snapshotVersion, figures);
  }
  // An unknown customer allowed by policy is not reported: the control plane has no such
  // customer, and the batch would be refused whole.
  if (fallback.reason === Reason.UnknownCustomer) {
    return policyDecision(true, fallback.reason, checked.snapshotVersion);
  }
  return fromSnapshot(parts, customer, feature, quantity, nowMs);
}

/**
 * A stale snapshot whose policy allows decides the use as local mode would, and reports
 * it under the decision's event key: when an `ask` timed out after all reached the
 * control plane, the report is then a duplicate there, not a second use.
 */
function fromSnapshot(
  parts: SharedParts,
  customer: string,
  feature: string,
  quantity: number,
  nowMs: number,
): Decision {
  const index = parts.evaluator.featureIndex(feature);
  const decision = parts.evaluator.consume(customer, index, quantity, nowMs);
  if (decision.allowed && decision.cost > 0) parts.record(quantity, undefined);
  return decision;
}

/**
 * Within the lease held when its slice covers the use; otherwise waits for a grant. The
 * figures are the customer's as this runtime knows them (see `decideInLease`).
 */
async function leased(
  parts: SharedParts,
  customer: string,
  feature: string,
  quantity: number,
  nowMs: number,
): Promise<Decision> {
  const consume = (index: number) => parts.evaluator.consume(customer, index, quantity, nowMs);
  const local = decideInLease(parts, customer, feature, quantity, nowMs, consume);
  if (local.lease !== null) parts.record(quantity, local.lease);
  if (!local.uncovered) return local.decision;

  const cost = quantity * unitCostOf(parts.terms);
  const spent = await parts.keeper.spend(customer, feature, cost);
  if (spent === null) return local.decision;
  const decision = consume(parts.evaluator.featureIndex(feature));
  if (!decision.allowed) {
    parts.keeper.giveBack(customer, feature, spent.lease, cost);
    return decision;
  }
  parts.record(quantity, spent.lease);
  return decision;
}

/** One atomic debit in the control plane; the event is ingested there, not queued here. */
async function strict(
  parts: SharedParts,
  customer: string,
  feature: string,
  quantity: number,
  nowMs: number,
  key: string,
): Promise<Decision> {
  const answer = await parts.client.postJson('/v1/consume', {
    customer,
    feature,
    quantity,
    key,
    time: nowMs,
  });
  const allowed = answer['allowed'] === true;
  const index = parts.evaluator.featureIndex(feature);
  // Counted here too until a snapshot includes it; it is not journalled for carry-over,
  // because the control plane ingested it in this very call.
  if (allowed && answer['duplicate'] !== true) {
    parts.evaluator.record(customer, index, quantity, nowMs);
  }
  const checked = parts.evaluator.check(customer, index, 0, nowMs);
  const cost = Number(answer['cost'] ?? 0);
  // What the control plane has free for the customer after this call, in pool units.
  const remaining = Number(answer['remaining'] ?? 0);
  const decision = allowed ? checked : leaseDenial(checked, parts.terms);
  // Under a limit, used is what the control plane does not have free: leases included.
  const spent = allowed ? cost : 0;
  const used = checked.limit === null ? checked.used + spent : checked.limit - remaining;
  return {
    ...decision,
    allowed,
    reason: allowed ? Reason.Allowed : decision.reason,
    reasonName: reasonName(allowed ? Reason.Allowed : decision.reason),
    used,
    remaining,
    cost: allowed ? cost : 0,
  };
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs);
  });
  try {
    return await Promise.race([work.catch(() => null), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
