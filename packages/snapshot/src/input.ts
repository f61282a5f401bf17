import type { FeatureKind, LimitBehavior } from '@tollgate/core';

/**
 * What the control plane hands the encoder: resolved values only. The evaluator needs no
 * catalog and no calendar; everything time-dependent was decided when this was built.
 *
 * Amounts are integers from −(2^53 − 1) to 2^53 − 1 (64-bit in the format). `null` limits
 * mean unlimited, which the format stores as −1.
 */
export interface SnapshotInput {
  /** Monotonic: a runtime never replaces a snapshot with one of a lower version. */
  snapshotVersion: number;
  createdAtMs: number;
  /** The snapshot includes every usage event the control plane acknowledged up to here. */
  usageWatermark: number;
  currencies: SnapshotCurrency[];
  features: SnapshotFeature[];
  customers: SnapshotCustomer[];
}

export interface SnapshotCurrency {
  code: string;
}

export interface SnapshotFeature {
  key: string;
  kind: FeatureKind;
  /** Index into `currencies` for credits features; 0 otherwise. */
  currencyIndex: number;
  /** Credits one unit of the feature costs; 0 for other kinds. */
  costPerUnit: number;
  requiresSeat: boolean;
}

export interface SnapshotCustomer {
  id: string;
  /** The next instant any resolved value changes (trial end, override end, reset); 0 if none. */
  nextChangeAtMs: number;
  /** One per feature, in the order of `features`. */
  entitlements: SnapshotEntitlement[];
  /** One per currency, in the order of `currencies`. */
  balances: SnapshotBalance[];
  /**
   * The users holding one of the customer's seats, in ascending order (UTF-16 code unit
   * order, which is byte order for identifiers), each once. Absent when none does; a
   * decoded snapshot omits it for such customers. Runtimes deny a user not listed every
   * feature that requires a seat (`no_seat`).
   */
  seatHolders?: string[];
}

export interface SnapshotEntitlement {
  access: boolean;
  /** Metered and config limits; null when unlimited. Ignored for other kinds. */
  limit: number | null;
  /** Usage already counted in the current period (metered). */
  used: number;
  /** End of the current period, exclusive, epoch ms; 0 when the feature never resets. */
  resetAtMs: number;
  behavior: LimitBehavior;
}

export interface SnapshotBalance {
  /** The available balance (may be negative under a soft limit). */
  balance: number;
  behavior: LimitBehavior;
}
