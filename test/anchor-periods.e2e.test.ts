import { describe, expect, it } from 'vitest';
import { LimitBehavior, featureKindFromName } from '@tollgate/core';
import { parseCatalog, resolveAccount } from '@tollgate/catalog';
import type { AccountState, Catalog } from '@tollgate/catalog';
import { encodeSnapshot } from '@tollgate/snapshot';
import { ReferenceEvaluator, createWasmEvaluator } from '@tollgate/evaluator';
import type { HandleEvaluator } from '@tollgate/evaluator';

// The anchor cases through the public packages only, with no control plane:
// `resolveAccount` gives the limit and the period at each instant, `encodeSnapshot` writes
// what the control plane would serve (usage counted per period by this test, as the
// control plane counts it), and each evaluator decides every call from that snapshot.

const catalog = parseCatalog(`schema_version: 1
features:
  api_calls: { kind: metered, reset: { every: month, on: anchor } }
plans:
  basic:
    versions:
      - version: 1
        published_at: "2016-01-01T00:00:00Z"
        entitlements: { api_calls: { limit: 100, behavior: hard } }
`);

function stateAnchoredAt(anchor: string): AccountState {
  const anchorMs = Date.parse(anchor);
  return {
    customerId: 'cus_1',
    createdAtMs: anchorMs,
    timeZone: null,
    subscription: {
      plan: 'basic',
      version: 1,
      anchorMs,
      quantity: 1,
      pastDueSinceMs: null,
      pausedAtMs: null,
      cancelAtMs: null,
    },
    trial: null,
    addons: [],
    overrides: [],
  };
}

/** One customer's calls, each decided by `evaluator` on the snapshot of its instant. */
class Meter {
  readonly #events: { atMs: number; quantity: number }[] = [];
  #version = 0;

  constructor(
    readonly catalog: Catalog,
    readonly state: AccountState,
    readonly evaluator: HandleEvaluator,
  ) {}

  /** Makes `count` requests of `quantity` calls at `instant`; answers how many passed. */
  calls(instant: string, count: number, quantity = 1): { allowed: number; denied: string[] } {
    const nowMs = Date.parse(instant);
    this.#load(nowMs);
    const feature = this.evaluator.featureIndex('api_calls');
    const denied: string[] = [];
    let allowed = 0;
    for (let call = 0; call < count; call += 1) {
      const decision = this.evaluator.consume('cus_1', feature, quantity, nowMs);
      if (decision.allowed) {
        allowed += 1;
        this.#events.push({ atMs: nowMs, quantity });
      } else {
        denied.push(`${decision.reasonName} ${decision.used}/${decision.limit}`);
      }
    }
    return { allowed, denied };
  }

  #load(nowMs: number): void {
    const resolution = resolveAccount(this.catalog, this.state, nowMs);
    const entry = resolution.entitlements[0]!;
    const period = entry.period!;
    const used = this.#events
      .filter((event) => period.startMs <= event.atMs && event.atMs < period.endMs)
      .reduce((sum, event) => sum + event.quantity, 0);
    const bytes = encodeSnapshot({
      snapshotVersion: (this.#version += 1),
      createdAtMs: nowMs,
      usageWatermark: this.#events.length,
      currencies: [],
      features: [
        {
          key: 'api_calls',
          kind: featureKindFromName('metered'),
          currencyIndex: 0,
          costPerUnit: 0,
          requiresSeat: false,
        },
      ],
      customers: [
        {
          id: 'cus_1',
          nextChangeAtMs: resolution.nextChangeAtMs ?? 0,
          entitlements: [
            {
              access: entry.access,
              limit: entry.limit,
              used,
              resetAtMs: period.endMs,
              behavior: LimitBehavior.Hard,
            },
          ],
          balances: [],
        },
      ],
    });
    this.evaluator.load(bytes);
  }
}

const evaluators: [string, () => Promise<HandleEvaluator>][] = [
  ['reference', async () => new ReferenceEvaluator()],
  ['wasm', () => createWasmEvaluator()],
];

describe.each(evaluators)('anchored monthly limits on the %s evaluator', (_name, create) => {
  it('anchored 2017-01-31: periods start 01-31, 02-28, 03-31, 04-30 and end 05-31', () => {
    const state = stateAnchoredAt('2017-01-31T00:00:00Z');
    const periods = ['2017-02-10', '2017-03-10', '2017-04-10', '2017-05-10'].map((day) => {
      const period = resolveAccount(catalog, state, Date.parse(`${day}T00:00:00Z`)).entitlements[0]!
        .period!;
      return [period.startMs, period.endMs].map((ms) => new Date(ms).toISOString().slice(0, 10));
    });
    expect(periods).toEqual([
      ['2017-01-31', '2017-02-28'],
      ['2017-02-28', '2017-03-31'],
      ['2017-03-31', '2017-04-30'],
      ['2017-04-30', '2017-05-31'],
    ]);
  });

  it('anchored 2017-01-31: 100 on 02-27 then one denied; 100 on 03-01; 03-31 resets', async () => {
    const meter = new Meter(catalog, stateAnchoredAt('2017-01-31T00:00:00Z'), await create());
    expect(meter.calls('2017-02-27T00:00:00Z', 100)).toEqual({ allowed: 100, denied: [] });
    expect(meter.calls('2017-02-27T12:00:00Z', 1)).toEqual({
      allowed: 0,
      denied: ['limit_exceeded 100/100'],
    });
    expect(meter.calls('2017-03-01T00:00:00Z', 100)).toEqual({ allowed: 100, denied: [] });
    expect(meter.calls('2017-03-30T23:59:59Z', 1)).toEqual({
      allowed: 0,
      denied: ['limit_exceeded 100/100'],
    });
    expect(meter.calls('2017-03-31T00:00:00Z', 1)).toEqual({ allowed: 1, denied: [] });
  });

  it('anchored 2025-01-29: 60 on 02-10, 60 on 03-05 (from 02-28), 50 on 03-20 denied', async () => {
    const meter = new Meter(catalog, stateAnchoredAt('2025-01-29T00:00:00Z'), await create());
    expect(meter.calls('2025-02-10T00:00:00Z', 1, 60)).toEqual({ allowed: 1, denied: [] });
    expect(meter.calls('2025-03-05T00:00:00Z', 1, 60)).toEqual({ allowed: 1, denied: [] });
    expect(meter.calls('2025-03-20T00:00:00Z', 1, 50)).toEqual({
      allowed: 0,
      denied: ['limit_exceeded 60/100'],
    });
  });
});
