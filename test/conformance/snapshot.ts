import { FeatureKind, LimitBehavior } from '@tollgate/core';
import type { SnapshotInput } from '@tollgate/snapshot';
import type { TollgateOptions } from '@tollgate/runtime';
import { snapshotInput } from '../../packages/runtime/test/helpers/fixtures.js';

/** The one user holding a seat of `cus_pro`. */
export const seatedUser = 'usr_seated';

/** How old the snapshot may grow before `export_pdf` is denied `stale_snapshot`. */
export const exportMaxAgeMs = 60_000;

/**
 * The runtime's feature fixtures plus `sso_login`, a boolean feature that requires a
 * seat: `cus_pro` has it and has given its one seat to `usr_seated`; `cus_free` lacks it.
 */
export function conformanceSnapshot(): SnapshotInput {
  const input = snapshotInput(1);
  input.features.push({
    key: 'sso_login',
    kind: FeatureKind.Boolean,
    currencyIndex: 0,
    costPerUnit: 0,
    requiresSeat: true,
  });
  for (const customer of input.customers) {
    const access = customer.id === 'cus_pro';
    customer.entitlements.push({
      access,
      limit: null,
      used: 0,
      resetAtMs: 0,
      behavior: LimitBehavior.Hard,
    });
    if (access) customer.seatHolders = [seatedUser];
  }
  return input;
}

/**
 * `export_pdf` fails closed once the snapshot has not been confirmed for a minute. No
 * other case moves the clock, so only the staleness case sees it.
 */
export const conformanceFeatures: NonNullable<TollgateOptions['features']> = {
  export_pdf: { whenStale: 'deny', maxAgeMs: exportMaxAgeMs },
};
