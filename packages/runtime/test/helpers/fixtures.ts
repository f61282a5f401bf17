import { FeatureKind, LimitBehavior } from '@tollgate/core';
import type { SnapshotEntitlement, SnapshotInput } from '@tollgate/snapshot';

/** Midday, 1 March 2026 UTC: every test runs at fixed instants from here. */
export const startMs = Date.UTC(2026, 2, 1, 12, 0, 0);
/** The end of the metered period: 1 April 2026 UTC. */
export const periodEndMs = Date.UTC(2026, 3, 1);

export interface Usage {
  /** Metered `api_calls` already used by `cus_pro`. */
  apiCallsUsed?: number;
  /** The `credits` balance of `cus_pro`. */
  creditsBalance?: number;
  /** The usage watermark the snapshot states (events it includes). */
  usageWatermark?: number;
}

const entitled = (limit: number | null, used = 0, resetAtMs = 0): SnapshotEntitlement => ({
  access: true,
  limit,
  used,
  resetAtMs,
  behavior: LimitBehavior.Hard,
});
const denied: SnapshotEntitlement = {
  access: false,
  limit: null,
  used: 0,
  resetAtMs: 0,
  behavior: LimitBehavior.Hard,
};

/**
 * Five features (metered, two credits, boolean, config) and two customers:
 * `cus_pro` has them all (100 api_calls a month, 100 credits, 2 credits per image and 1
 * per chat message);
 * `cus_free` has `api_calls` with a limit of 3 and `max_projects` with a limit of 1.
 */
export function snapshotInput(version: number, usage: Usage = {}): SnapshotInput {
  return {
    snapshotVersion: version,
    createdAtMs: startMs,
    usageWatermark: usage.usageWatermark ?? 0,
    currencies: [{ code: 'credits' }],
    features: [
      {
        key: 'api_calls',
        kind: FeatureKind.Metered,
        currencyIndex: 0,
        costPerUnit: 0,
        requiresSeat: false,
      },
      {
        key: 'image_generate',
        kind: FeatureKind.Credits,
        currencyIndex: 0,
        costPerUnit: 2,
        requiresSeat: false,
      },
      {
        key: 'export_pdf',
        kind: FeatureKind.Boolean,
        currencyIndex: 0,
        costPerUnit: 0,
        requiresSeat: false,
      },
      {
        key: 'chat_message',
        kind: FeatureKind.Credits,
        currencyIndex: 0,
        costPerUnit: 1,
        requiresSeat: false,
      },
      {
        key: 'max_projects',
        kind: FeatureKind.Config,
        currencyIndex: 0,
        costPerUnit: 0,
        requiresSeat: false,
      },
    ],
    customers: [
      {
        id: 'cus_pro',
        nextChangeAtMs: periodEndMs,
        entitlements: [
          entitled(100, usage.apiCallsUsed ?? 0, periodEndMs),
          entitled(null),
          entitled(null),
          entitled(null),
          entitled(10),
        ],
        balances: [{ balance: usage.creditsBalance ?? 100, behavior: LimitBehavior.Hard }],
      },
      {
        id: 'cus_free',
        nextChangeAtMs: periodEndMs,
        entitlements: [entitled(3, 0, periodEndMs), denied, denied, denied, entitled(1)],
        balances: [{ balance: 0, behavior: LimitBehavior.Hard }],
      },
    ],
  };
}
