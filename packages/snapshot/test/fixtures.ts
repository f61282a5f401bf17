import { crc32 } from 'node:zlib';
import { FeatureKind, LimitBehavior } from '@tollgate/core';
import type { SnapshotInput } from '../src/index.js';

/** Two customers, one feature of each kind, two currencies, unlimited and negative values. */
export function sampleSnapshot(): SnapshotInput {
  return {
    snapshotVersion: 42,
    createdAtMs: 1_767_225_600_000,
    usageWatermark: 9001,
    currencies: [{ code: 'credits' }, { code: 'promo' }],
    features: [
      {
        key: 'sso',
        kind: FeatureKind.Boolean,
        currencyIndex: 0,
        costPerUnit: 0,
        requiresSeat: true,
      },
      {
        key: 'max_projects',
        kind: FeatureKind.Config,
        currencyIndex: 0,
        costPerUnit: 0,
        requiresSeat: false,
      },
      {
        key: 'api_calls',
        kind: FeatureKind.Metered,
        currencyIndex: 0,
        costPerUnit: 0,
        requiresSeat: false,
      },
      {
        key: 'image_gen',
        kind: FeatureKind.Credits,
        currencyIndex: 1,
        costPerUnit: 25,
        requiresSeat: false,
      },
      {
        key: 'seats',
        kind: FeatureKind.Seats,
        currencyIndex: 0,
        costPerUnit: 0,
        requiresSeat: false,
      },
    ],
    customers: [
      {
        id: 'cus_acme',
        nextChangeAtMs: 1_767_312_000_000,
        entitlements: [
          { access: true, limit: null, used: 0, resetAtMs: 0, behavior: LimitBehavior.Hard },
          { access: true, limit: 10, used: 0, resetAtMs: 0, behavior: LimitBehavior.Hard },
          {
            access: true,
            limit: 1000,
            used: 990,
            resetAtMs: 1_767_312_000_000,
            behavior: LimitBehavior.Hard,
          },
          { access: true, limit: null, used: 0, resetAtMs: 0, behavior: LimitBehavior.Hard },
          { access: true, limit: 5, used: 2, resetAtMs: 0, behavior: LimitBehavior.Hard },
        ],
        balances: [
          { balance: Number.MAX_SAFE_INTEGER, behavior: LimitBehavior.Hard },
          { balance: 100, behavior: LimitBehavior.Hard },
        ],
        seatHolders: ['alice', 'bob:eu'],
      },
      {
        id: 'cus_beta:eu',
        nextChangeAtMs: 0,
        entitlements: [
          { access: false, limit: null, used: 0, resetAtMs: 0, behavior: LimitBehavior.Hard },
          { access: true, limit: null, used: 0, resetAtMs: 0, behavior: LimitBehavior.Soft },
          { access: true, limit: 50, used: 70, resetAtMs: 0, behavior: LimitBehavior.Soft },
          { access: true, limit: null, used: 0, resetAtMs: 0, behavior: LimitBehavior.Soft },
          { access: false, limit: 0, used: 0, resetAtMs: 0, behavior: LimitBehavior.Hard },
        ],
        balances: [
          { balance: -Number.MAX_SAFE_INTEGER, behavior: LimitBehavior.Soft },
          { balance: -40, behavior: LimitBehavior.Soft },
        ],
      },
    ],
  };
}

/** Rewrites the checksum after a deliberate edit, so that deeper checks are reached. */
export function resealed(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  const checksum = crc32(copy.subarray(12), crc32(copy.subarray(0, 8)));
  view.setUint32(8, checksum, true);
  return copy;
}
