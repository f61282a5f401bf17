import { FeatureKind, LimitBehavior } from '@tollgate/core';
import { encodeSnapshot } from '@tollgate/snapshot';
import type { SnapshotEntitlement, SnapshotInput } from '@tollgate/snapshot';
import { ReferenceEvaluator, createWasmEvaluator } from '../src/index.js';
import type { HandleEvaluator } from '../src/index.js';

export const T0 = 1_767_225_600_000;
export const RESET_AT_MS = T0 + 1000;
export const MAX = Number.MAX_SAFE_INTEGER;

/** Feature indices of `plansSnapshot`. */
export const F = { sso: 0, projects: 1, calls: 2, images: 3, seats: 4, overage: 5 } as const;

const { Hard, Soft } = LimitBehavior;

function row(
  access: boolean,
  limit: number | null,
  used = 0,
  behavior = Hard,
  resetAtMs = 0,
): SnapshotEntitlement {
  return { access, limit, used, resetAtMs, behavior };
}

/**
 * Two customers over one feature of each kind. `cus_pro` has hard limits and 100 credits
 * at 25 per image; `cus_free` has soft or unlimited ones and a negative soft balance.
 */
export function plansSnapshot(version = 7): SnapshotInput {
  const feature = (key: string, kind: FeatureKind, costPerUnit = 0) => ({
    key,
    kind,
    currencyIndex: 0,
    costPerUnit,
    requiresSeat: false,
  });
  return {
    snapshotVersion: version,
    createdAtMs: T0 - 60_000,
    usageWatermark: 123,
    currencies: [{ code: 'credits' }],
    features: [
      feature('sso', FeatureKind.Boolean),
      feature('max_projects', FeatureKind.Config),
      feature('api_calls', FeatureKind.Metered),
      feature('image_gen', FeatureKind.Credits, 25),
      feature('seats', FeatureKind.Seats),
      feature('overage_calls', FeatureKind.Metered),
    ],
    customers: [
      {
        id: 'cus_pro',
        nextChangeAtMs: RESET_AT_MS,
        entitlements: [
          row(true, null),
          row(true, 10),
          row(true, 100, 90, Hard, RESET_AT_MS),
          row(true, null),
          row(true, 5),
          row(true, 50, 70, Soft),
        ],
        balances: [{ balance: 100, behavior: Hard }],
      },
      {
        id: 'cus_free',
        nextChangeAtMs: 0,
        entitlements: [
          row(false, null),
          row(true, null),
          row(true, null, 5),
          row(true, null),
          row(false, null),
          row(false, 0),
        ],
        balances: [{ balance: -40, behavior: Soft }],
      },
    ],
  };
}

export const plansBytes = (version = 7): Uint8Array => encodeSnapshot(plansSnapshot(version));

/** The three evaluators every semantic test runs against. */
export const evaluatorFactories: [string, () => Promise<HandleEvaluator>][] = [
  ['reference', async () => new ReferenceEvaluator()],
  ['wasm release', () => createWasmEvaluator()],
  ['wasm debug', () => createWasmEvaluator({ debug: true })],
];

/** A decision's expected figures, with `allowed` and `reasonName` filled in by the test. */
export function figures(
  limit: number | null,
  used: number,
  remaining: number | null,
  cost: number,
  resetAtMs = 0,
) {
  return { limit, used, remaining, cost, resetAtMs };
}
