import { FeatureKind, LimitBehavior, Reason } from '@tollgate/core';
import type { Decision } from '@tollgate/core';
import { decodeSnapshot } from '@tollgate/snapshot';
import type { SnapshotInput } from '@tollgate/snapshot';
import {
  FLAGS_ALL_NULL,
  FLAG_LIMIT_NULL,
  Operation,
  addAmount,
  makeDecision,
  multiplyAmount,
  releaseAmount,
  subtractAmount,
} from './amounts.js';
import type { LoadInStepsOptions } from './evaluator.js';
import type { HandleEvaluator } from './handles.js';
import { ReferenceState } from './reference-state.js';

/**
 * The evaluator in plain TypeScript, over a decoded snapshot. It follows
 * `assembly/src/decide.ts` and `assembly/src/account.ts` rule for rule: it is the
 * readable statement of the semantics, and the differential test holds the Wasm
 * evaluator to it.
 *
 * @example
 * ```ts
 * const evaluator = new ReferenceEvaluator();
 * evaluator.load(snapshotBytes);
 * const decision = evaluator.consume('cus_1', evaluator.featureIndex('ai_tokens'), 500, now);
 * ```
 */
export class ReferenceEvaluator implements HandleEvaluator {
  #state = new ReferenceState(emptySnapshot());
  #seatHolders = new Map<string, Set<string>>();

  get snapshotVersion(): number {
    return this.#state.snapshot.snapshotVersion;
  }

  get usageWatermark(): number {
    return this.#state.snapshot.usageWatermark;
  }

  get createdAtMs(): number {
    return this.#state.snapshot.createdAtMs;
  }

  load(bytes: Uint8Array): void {
    // Decoding verifies everything first, so a failure leaves the current state serving.
    const snapshot = decodeSnapshot(bytes);
    this.#state = new ReferenceState(snapshot);
    this.#seatHolders = new Map(
      snapshot.customers.map((customer) => [customer.id, new Set(customer.seatHolders)]),
    );
  }

  /**
   * The reference decodes a snapshot in one piece, so only the wait for a turn of the
   * event loop comes first; it exists so that hosts can treat both evaluators alike.
   */
  async loadInSteps(bytes: Uint8Array, options: LoadInStepsOptions = {}): Promise<void> {
    await Promise.resolve();
    this.load(bytes);
    options.onActivated?.();
  }

  holdsSeat(customerId: string, userId: string): boolean {
    return this.#seatHolders.get(customerId)?.has(userId) ?? false;
  }

  nextChangeAtMs(customerId: string): number {
    const handle = this.customerHandle(customerId);
    return handle < 0 ? 0 : (this.#state.snapshot.customers[handle]?.nextChangeAtMs ?? 0);
  }

  featureIndex(key: string): number {
    return this.#state.featureIndexByKey.get(key) ?? -1;
  }

  customerHandle(customerId: string): number {
    return this.#state.customerIndexById.get(customerId) ?? -1;
  }

  check(customerId: string, feature: number, quantity: number, nowMs: number): Decision {
    return this.#decide(Operation.Check, this.customerHandle(customerId), feature, quantity, nowMs);
  }

  checkHandle(handle: number, feature: number, quantity: number, nowMs: number): Decision {
    return this.#decide(Operation.Check, handle, feature, quantity, nowMs);
  }

  consume(customerId: string, feature: number, quantity: number, nowMs: number): Decision {
    const handle = this.customerHandle(customerId);
    return this.#decide(Operation.Consume, handle, feature, quantity, nowMs);
  }

  hold(customerId: string, feature: number, quantity: number, nowMs: number): Decision {
    return this.#decide(Operation.Hold, this.customerHandle(customerId), feature, quantity, nowMs);
  }

  release(customerId: string, feature: number, quantity: number, nowMs: number): void {
    this.#adjust(false, this.customerHandle(customerId), feature, quantity, nowMs);
  }

  record(customerId: string, feature: number, quantity: number, nowMs: number): void {
    this.#adjust(true, this.customerHandle(customerId), feature, quantity, nowMs);
  }

  settle(customerId: string, feature: number, held: number, actual: number, nowMs: number): number {
    const state = this.#state;
    const handle = this.customerHandle(customerId);
    if (!state.isKnown(handle, feature)) return 0;
    const kind = state.featureKinds[feature];
    if (kind === FeatureKind.Metered) {
      return this.#settleMetered(state.entitlementIndex(handle, feature), held, actual, nowMs);
    }
    if (kind === FeatureKind.Credits) return this.#settleCredits(handle, feature, held, actual);
    return 0;
  }

  #decide(op: Operation, handle: number, feature: number, quantity: number, nowMs: number) {
    const state = this.#state;
    const version = state.snapshot.snapshotVersion;
    if (!state.isKnownCustomer(handle)) {
      return makeDecision(Reason.UnknownCustomer, FLAGS_ALL_NULL, 0, 0, 0, 0, 0, version);
    }
    if (!state.isKnownFeature(feature)) {
      return makeDecision(Reason.UnknownFeature, FLAGS_ALL_NULL, 0, 0, 0, 0, 0, version);
    }
    const index = state.entitlementIndex(handle, feature);
    if (state.access[index] === 0) {
      return makeDecision(Reason.NoAccess, FLAGS_ALL_NULL, 0, 0, 0, 0, 0, version);
    }
    const kind = state.featureKinds[feature];
    if (kind === FeatureKind.Metered) return this.#decideMetered(op, index, quantity, nowMs);
    if (kind === FeatureKind.Credits) return this.#decideCredits(op, handle, feature, quantity);
    if (kind === FeatureKind.Config) return this.#decideConfig(index, quantity);
    const resetAtMs = state.resetAtMs[index] as number;
    return makeDecision(Reason.Allowed, FLAGS_ALL_NULL, 0, 0, 0, 0, resetAtMs, version);
  }

  #decideMetered(op: Operation, index: number, quantity: number, nowMs: number): Decision {
    const state = this.#state;
    const limit = state.limit[index] as number;
    const unlimited = limit < 0;
    const usage = state.meteredUsage(index, nowMs);
    const after = addAmount(usage, quantity);
    const hard = state.behavior[index] === LimitBehavior.Hard;
    const allowed = unlimited || !hard || after <= limit;

    let used = usage;
    if (allowed && op === Operation.Consume) {
      state.consumeMetered(index, quantity, nowMs);
      used = after;
    } else if (allowed && op === Operation.Hold) {
      state.held[index] = addAmount(state.held[index] as number, quantity);
      used = after;
    }
    const reason = allowed ? Reason.Allowed : Reason.LimitExceeded;
    const flags = unlimited ? FLAGS_ALL_NULL : 0;
    const remaining = unlimited || used >= limit ? 0 : limit - used;
    const resetAtMs = state.resetAtMs[index] as number;
    const version = state.snapshot.snapshotVersion;
    return makeDecision(reason, flags, limit, used, remaining, quantity, resetAtMs, version);
  }

  /** Config: the quantity is the count the app wants to reach; nothing is recorded. */
  #decideConfig(index: number, quantity: number): Decision {
    const state = this.#state;
    const limit = state.limit[index] as number;
    const unlimited = limit < 0;
    const reason = unlimited || quantity <= limit ? Reason.Allowed : Reason.LimitExceeded;
    const flags = unlimited ? FLAGS_ALL_NULL : 0;
    const remaining = unlimited || quantity >= limit ? 0 : limit - quantity;
    const resetAtMs = state.resetAtMs[index] as number;
    const version = state.snapshot.snapshotVersion;
    return makeDecision(reason, flags, limit, quantity, remaining, 0, resetAtMs, version);
  }

  #decideCredits(op: Operation, handle: number, feature: number, quantity: number): Decision {
    const state = this.#state;
    const balance = state.balanceIndex(handle, feature);
    const cost = multiplyAmount(quantity, state.featureCosts[feature] as number);
    const before = state.available(balance);
    const hard = state.balanceBehavior[balance] === LimitBehavior.Hard;
    const allowed = !hard || cost === 0 || cost <= before;

    let remaining = before;
    if (allowed && op !== Operation.Check) {
      const account = op === Operation.Consume ? state.balanceConsumed : state.balanceHeld;
      account[balance] = addAmount(account[balance] as number, cost);
      remaining = subtractAmount(before, cost);
    }
    const reason = allowed ? Reason.Allowed : Reason.InsufficientCredits;
    const resetAtMs = state.resetAtMs[state.entitlementIndex(handle, feature)] as number;
    const version = state.snapshot.snapshotVersion;
    return makeDecision(reason, FLAG_LIMIT_NULL, 0, cost, remaining, cost, resetAtMs, version);
  }

  /** Record (`isRecord`) adds consumption; otherwise removes a hold. */
  #adjust(isRecord: boolean, handle: number, feature: number, quantity: number, nowMs: number) {
    const state = this.#state;
    if (!state.isKnown(handle, feature)) return;
    const kind = state.featureKinds[feature];
    if (kind === FeatureKind.Metered) {
      const index = state.entitlementIndex(handle, feature);
      if (isRecord) state.consumeMetered(index, quantity, nowMs);
      else state.held[index] = releaseAmount(state.held[index] as number, quantity);
    } else if (kind === FeatureKind.Credits) {
      const balance = state.balanceIndex(handle, feature);
      const cost = multiplyAmount(quantity, state.featureCosts[feature] as number);
      const account = isRecord ? state.balanceConsumed : state.balanceHeld;
      const current = account[balance] as number;
      account[balance] = isRecord ? addAmount(current, cost) : releaseAmount(current, cost);
    }
  }

  #settleMetered(index: number, held: number, actual: number, nowMs: number): number {
    const state = this.#state;
    state.held[index] = releaseAmount(state.held[index] as number, held);
    let charge = actual;
    const limit = state.limit[index] as number;
    if (state.behavior[index] === LimitBehavior.Hard && limit >= 0 && actual > held) {
      const usage = state.meteredUsage(index, nowMs);
      charge = Math.min(actual, usage >= limit ? 0 : limit - usage);
    }
    state.consumeMetered(index, charge, nowMs);
    return charge;
  }

  #settleCredits(handle: number, feature: number, held: number, actual: number): number {
    const state = this.#state;
    const balance = state.balanceIndex(handle, feature);
    const costPerUnit = state.featureCosts[feature] as number;
    const heldCost = multiplyAmount(held, costPerUnit);
    state.balanceHeld[balance] = releaseAmount(state.balanceHeld[balance] as number, heldCost);
    let charge = multiplyAmount(actual, costPerUnit);
    if (state.balanceBehavior[balance] === LimitBehavior.Hard && actual > held) {
      const left = state.available(balance);
      charge = Math.min(charge, left > 0 ? left : 0);
    }
    const consumed = state.balanceConsumed[balance] as number;
    state.balanceConsumed[balance] = addAmount(consumed, charge);
    return charge;
  }
}

function emptySnapshot(): SnapshotInput {
  return {
    snapshotVersion: 0,
    createdAtMs: 0,
    usageWatermark: 0,
    currencies: [],
    features: [],
    customers: [],
  };
}
