import { parseCatalog } from '../src/index.js';
import type { AccountState } from '../src/index.js';

/** A small catalog with the exact numbers: 100 calls a month, 50 projects. */
export const resolutionCatalog = parseCatalog(`schema_version: 1
lifecycle: { grace_period_days: 7 }
features:
  api_calls: { kind: metered, reset: { every: month } }
  max_projects: { kind: config }
  export_pdf: { kind: boolean }
  sso: { kind: boolean, requires_seat: true }
  seats: { kind: seats }
plans:
  starter:
    versions:
      - version: 1
        published_at: "2016-01-01T00:00:00Z"
        entitlements:
          api_calls: { limit: 100 }
          max_projects: { limit: 50 }
          seats: { limit: 1 }
  business:
    fallback_plan: starter
    versions:
      - version: 1
        published_at: "2016-01-01T00:00:00Z"
        entitlements:
          api_calls: { limit: 10000 }
          max_projects: { limit: unlimited }
          export_pdf: true
          sso: true
          seats: { limit: quantity }
addons:
  extra_projects_25: { entitlements: { max_projects: { add: 25 } } }
trials:
  business_trial: { plan: business, days: 14, fallback_plan: starter }
`);

export function account(overrides: Partial<AccountState> = {}): AccountState {
  return {
    customerId: 'cus_1',
    createdAtMs: Date.parse('2016-06-01T00:00:00Z'),
    timeZone: null,
    subscription: null,
    trial: null,
    addons: [],
    overrides: [],
    ...overrides,
  };
}

export function subscribed(plan: string, anchor: string, quantity = 1) {
  return {
    plan,
    version: 1,
    anchorMs: Date.parse(anchor),
    quantity,
    pastDueSinceMs: null,
    pausedAtMs: null,
    cancelAtMs: null,
  };
}
