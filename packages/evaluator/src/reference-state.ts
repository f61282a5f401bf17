import type { SnapshotInput } from '@tollgate/snapshot';
import { addAmount, subtractAmount } from './amounts.js';

/**
 * A decoded snapshot laid out in flat arrays like the binary rows, with local accounting
 * beside it: consumed and held per entitlement row and per balance row. Every amount is
 * a safe integer, which a Float64Array holds exactly.
 */
export class ReferenceState {
  readonly snapshot: SnapshotInput;
  readonly customerCount: number;
  readonly featureCount: number;
  readonly currencyCount: number;
  readonly customerIndexById = new Map<string, number>();
  readonly featureIndexByKey = new Map<string, number>();
  readonly featureKinds: Uint8Array;
  readonly featureCurrencies: Uint32Array;
  readonly featureCosts: Float64Array;

  // Entitlement rows (customer × featureCount + feature) and their accounting.
  readonly access: Uint8Array;
  readonly behavior: Uint8Array;
  readonly limit: Float64Array;
  readonly used: Float64Array;
  readonly resetAtMs: Float64Array;
  readonly consumed: Float64Array;
  readonly held: Float64Array;
  /** 1 once the row's local consumption belongs to the period after its reset. */
  readonly afterReset: Uint8Array;

  // Balance rows (customer × currencyCount + currency) and their accounting.
  readonly balance: Float64Array;
  readonly balanceBehavior: Uint8Array;
  readonly balanceConsumed: Float64Array;
  readonly balanceHeld: Float64Array;

  constructor(snapshot: SnapshotInput) {
    this.snapshot = snapshot;
    this.customerCount = snapshot.customers.length;
    this.featureCount = snapshot.features.length;
    this.currencyCount = snapshot.currencies.length;
    snapshot.features.forEach((feature, index) => this.featureIndexByKey.set(feature.key, index));
    this.featureKinds = Uint8Array.from(snapshot.features, (feature) => feature.kind);
    this.featureCurrencies = Uint32Array.from(snapshot.features, (f) => f.currencyIndex);
    this.featureCosts = Float64Array.from(snapshot.features, (feature) => feature.costPerUnit);

    const rows = this.customerCount * this.featureCount;
    this.access = new Uint8Array(rows);
    this.behavior = new Uint8Array(rows);
    this.limit = new Float64Array(rows);
    this.used = new Float64Array(rows);
    this.resetAtMs = new Float64Array(rows);
    this.consumed = new Float64Array(rows);
    this.held = new Float64Array(rows);
    this.afterReset = new Uint8Array(rows);
    const balances = this.customerCount * this.currencyCount;
    this.balance = new Float64Array(balances);
    this.balanceBehavior = new Uint8Array(balances);
    this.balanceConsumed = new Float64Array(balances);
    this.balanceHeld = new Float64Array(balances);
    this.#fillRows();
  }

  #fillRows(): void {
    this.snapshot.customers.forEach((customer, handle) => {
      this.customerIndexById.set(customer.id, handle);
      customer.entitlements.forEach((entitlement, feature) => {
        const index = handle * this.featureCount + feature;
        this.access[index] = entitlement.access ? 1 : 0;
        this.behavior[index] = entitlement.behavior;
        this.limit[index] = entitlement.limit ?? -1;
        this.used[index] = entitlement.used;
        this.resetAtMs[index] = entitlement.resetAtMs;
      });
      customer.balances.forEach((balance, currency) => {
        const index = handle * this.currencyCount + currency;
        this.balance[index] = balance.balance;
        this.balanceBehavior[index] = balance.behavior;
      });
    });
  }

  isKnownCustomer(handle: number): boolean {
    return Number.isInteger(handle) && handle >= 0 && handle < this.customerCount;
  }

  isKnownFeature(feature: number): boolean {
    return Number.isInteger(feature) && feature >= 0 && feature < this.featureCount;
  }

  isKnown(handle: number, feature: number): boolean {
    return this.isKnownCustomer(handle) && this.isKnownFeature(feature);
  }

  entitlementIndex(handle: number, feature: number): number {
    return handle * this.featureCount + feature;
  }

  balanceIndex(handle: number, feature: number): number {
    return handle * this.currencyCount + (this.featureCurrencies[feature] as number);
  }

  /** True when the row resets and nowMs has reached the reset: the end is exclusive. */
  hasRolledOver(index: number, nowMs: number): boolean {
    const resetAtMs = this.resetAtMs[index] as number;
    return resetAtMs !== 0 && nowMs >= resetAtMs;
  }

  /** Snapshot usage (until the reset) + local consumption of the current period + holds. */
  meteredUsage(index: number, nowMs: number): number {
    const rolled = this.hasRolledOver(index, nowMs);
    const base = rolled ? 0 : (this.used[index] as number);
    const local = !rolled || this.afterReset[index] === 1 ? (this.consumed[index] as number) : 0;
    return addAmount(addAmount(base, local), this.held[index] as number);
  }

  /** Adds metered consumption, first dropping what was consumed before a rollover. */
  consumeMetered(index: number, quantity: number, nowMs: number): void {
    if (this.hasRolledOver(index, nowMs) && this.afterReset[index] !== 1) {
      this.consumed[index] = 0;
      this.afterReset[index] = 1;
    }
    this.consumed[index] = addAmount(this.consumed[index] as number, quantity);
  }

  /** The balance less local consumption and holds; negative only under a soft limit. */
  available(index: number): number {
    const afterConsumed = subtractAmount(
      this.balance[index] as number,
      this.balanceConsumed[index] as number,
    );
    return subtractAmount(afterConsumed, this.balanceHeld[index] as number);
  }
}
