import { describe, expect, it } from 'vitest';
import { FeatureKind, LimitBehavior, isTollgateError } from '@tollgate/core';
import { encodeSnapshot } from '@tollgate/snapshot';
import type { SnapshotCustomer, SnapshotFeature, SnapshotInput } from '@tollgate/snapshot';
import { ReferenceEvaluator, createWasmEvaluator } from '@tollgate/evaluator';
import type { HandleEvaluator } from '@tollgate/evaluator';

// The Wasm evaluator (release and debug builds) and the TypeScript reference must agree
// on every decision, step by step, over generated snapshots and operation sequences.
// The seed is fixed, so a failure names a step that replays the same way every run.

const SEED = 0x7011_6a7e;
const SNAPSHOT_COUNT = 1500;
const STEPS_PER_SNAPSHOT = 40;
const MAX = Number.MAX_SAFE_INTEGER;
const T0 = 1_767_225_600_000;
/** Users a seat row may name, in ascending order; `u_z` never holds a seat. */
const USERS = ['u_a', 'u_b', 'u_c'];

/** Mulberry32: small, fast and good enough to spread test cases. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Cases {
  constructor(readonly random: () => number) {}

  below(count: number): number {
    return Math.floor(this.random() * count);
  }

  pick<T>(choices: readonly T[]): T {
    return choices[this.below(choices.length)] as T;
  }

  chance(probability: number): boolean {
    return this.random() < probability;
  }

  /** Amounts that reach the interesting edges: zero, small, near limits, and 2^53 − 1. */
  amount(): number {
    return this.pick([0, 1, 2, 5, 10, 99, 100, 1000, 2 ** 40, MAX - 1, MAX, this.below(200)]);
  }

  behavior(): LimitBehavior {
    return this.chance(0.5) ? LimitBehavior.Hard : LimitBehavior.Soft;
  }
}

function generateSnapshot(cases: Cases, version: number): SnapshotInput {
  const currencyCount = cases.below(3);
  const kinds = [FeatureKind.Boolean, FeatureKind.Config, FeatureKind.Metered, FeatureKind.Seats];
  if (currencyCount > 0) kinds.push(FeatureKind.Credits, FeatureKind.Credits);
  const features: SnapshotFeature[] = Array.from({ length: 1 + cases.below(6) }, (_, index) => {
    const kind = cases.pick(kinds);
    const credits = kind === FeatureKind.Credits;
    return {
      key: `feature_${index}`,
      kind,
      currencyIndex: credits ? cases.below(currencyCount) : 0,
      costPerUnit: credits ? cases.pick([0, 1, 3, 25, 2 ** 30, MAX]) : 0,
      requiresSeat: cases.chance(0.2),
    };
  });
  const customers: SnapshotCustomer[] = Array.from({ length: cases.below(7) }, (_, index) => ({
    id: `cus_${version}_${index}`,
    nextChangeAtMs: cases.chance(0.5) ? 0 : T0 + cases.below(5000),
    ...(cases.chance(0.5) ? { seatHolders: USERS.filter(() => cases.chance(0.5)) } : {}),
    entitlements: features.map(() => ({
      access: cases.chance(0.85),
      limit: cases.chance(0.25) ? null : cases.pick([0, 1, 10, 100, 1000, MAX, cases.below(500)]),
      used: cases.pick([0, 0, 5, 50, 99, 100, 2000, MAX]),
      resetAtMs: cases.chance(0.5) ? 0 : T0 + cases.below(2000),
      behavior: cases.behavior(),
    })),
    balances: Array.from({ length: currencyCount }, () => ({
      balance: cases.pick([0, 10, 100, 1000, -40, MAX, -MAX, cases.below(5000) - 1000]),
      behavior: cases.behavior(),
    })),
  }));
  return {
    snapshotVersion: version,
    createdAtMs: T0,
    usageWatermark: version * 10,
    currencies: Array.from({ length: currencyCount }, (_, index) => ({ code: `cur_${index}` })),
    features,
    customers,
  };
}

interface Step {
  op: 'check' | 'consume' | 'hold' | 'release' | 'settle' | 'record' | 'seat' | 'load' | 'corrupt';
  customerId: string;
  user: string;
  feature: number;
  quantity: number;
  actual: number;
  nowMs: number;
}

function generateStep(cases: Cases, snapshot: SnapshotInput, nowMs: number): Step {
  const customer = cases.pick(snapshot.customers);
  const known = customer !== undefined && cases.chance(0.9);
  const featureCount = snapshot.features.length;
  const feature = cases.chance(0.93) ? cases.below(featureCount) : cases.pick([-1, featureCount]);
  // Now and then, land exactly on a reset instant or just before it: the end is exclusive.
  const resetAtMs = customer?.entitlements[feature]?.resetAtMs ?? 0;
  const atReset = resetAtMs !== 0 && cases.chance(0.2);
  return {
    op: cases.pick([
      ...(['check', 'consume', 'consume', 'hold', 'release', 'settle', 'record', 'seat'] as const),
      ...(['check', 'consume', 'hold', 'settle'] as const),
      ...(cases.chance(0.15) ? (['load', 'corrupt'] as const) : []),
    ]),
    customerId: known ? customer.id : cases.pick(['cus_unknown', '', 'cus_0_0x', 'é']),
    user: cases.pick([...USERS, 'u_z']),
    feature,
    quantity: cases.amount(),
    actual: cases.amount(),
    nowMs: atReset ? resetAtMs - cases.below(2) : nowMs,
  };
}

/** Runs one step; returns what the evaluator answered, as comparable JSON. */
function apply(evaluator: HandleEvaluator, step: Step, bytes: Uint8Array): string {
  const { customerId, feature, quantity, actual, nowMs } = step;
  switch (step.op) {
    case 'check':
      return JSON.stringify(evaluator.check(customerId, feature, quantity, nowMs));
    case 'consume':
      return JSON.stringify(evaluator.consume(customerId, feature, quantity, nowMs));
    case 'hold':
      return JSON.stringify(evaluator.hold(customerId, feature, quantity, nowMs));
    case 'settle':
      return String(evaluator.settle(customerId, feature, quantity, actual, nowMs));
    case 'release':
      evaluator.release(customerId, feature, quantity, nowMs);
      return JSON.stringify(evaluator.check(customerId, feature, 0, nowMs));
    case 'record':
      evaluator.record(customerId, feature, quantity, nowMs);
      return JSON.stringify(evaluator.check(customerId, feature, 0, nowMs));
    case 'seat':
      // The host decides no_seat from these two answers; both evaluators must agree.
      return [
        evaluator.holdsSeat(customerId, step.user),
        evaluator.nextChangeAtMs(customerId),
      ].join(' ');
    default:
      try {
        evaluator.load(bytes);
        return `loaded ${evaluator.snapshotVersion}`;
      } catch (error) {
        const code = isTollgateError(error) ? error.code : String(error);
        return `${code} ${evaluator.snapshotVersion}`;
      }
  }
}

describe('differential: Wasm evaluators against the TypeScript reference', () => {
  it(`agrees on every step of ${SNAPSHOT_COUNT} generated snapshots`, async () => {
    const cases = new Cases(prng(SEED));
    const evaluators: [string, HandleEvaluator][] = [
      ['reference', new ReferenceEvaluator()],
      ['wasm release', await createWasmEvaluator()],
      ['wasm debug', await createWasmEvaluator({ debug: true })],
    ];
    let steps = 0;
    const reasonsSeen = new Set<string>();
    const seatAnswers = new Set<string>();
    for (let version = 1; version <= SNAPSHOT_COUNT; version++) {
      let snapshot = generateSnapshot(cases, version);
      let bytes = encodeSnapshot(snapshot);
      for (const [, evaluator] of evaluators) evaluator.load(bytes);
      let nowMs = T0 - 500 + cases.below(1000);

      for (let index = 0; index < STEPS_PER_SNAPSHOT; index++) {
        // Time mostly moves forward across reset instants, and sometimes steps back.
        nowMs += cases.chance(0.1) ? -cases.below(300) : cases.below(120);
        const step = generateStep(cases, snapshot, nowMs);
        let stepBytes = bytes;
        if (step.op === 'load') {
          snapshot = generateSnapshot(cases, version);
          stepBytes = bytes = encodeSnapshot(snapshot);
        } else if (step.op === 'corrupt') {
          stepBytes = bytes.slice(0, cases.below(bytes.length + 1));
          const at = cases.below(stepBytes.length);
          if (stepBytes.length > 0) stepBytes[at] = (stepBytes[at] as number) ^ 0x10;
        }
        const answers = evaluators.map(([, evaluator]) => apply(evaluator, step, stepBytes));
        const where = `snapshot ${version}, step ${index}: ${JSON.stringify(step)}`;
        for (const answer of answers.slice(1)) expect(answer, where).toBe(answers[0]);
        const reason = /"reasonName":"(\w+)"/.exec(answers[0] as string)?.[1];
        if (reason !== undefined) reasonsSeen.add(reason);
        if (step.op === 'seat') seatAnswers.add((answers[0] as string).split(' ')[0] as string);
        steps++;
      }
    }
    expect(steps).toBe(SNAPSHOT_COUNT * STEPS_PER_SNAPSHOT);
    expect([...seatAnswers].sort()).toEqual(['false', 'true']);
    // The generator must reach every reason the evaluator decides, or it proves little.
    expect([...reasonsSeen].sort()).toEqual([
      'allowed',
      'insufficient_credits',
      'limit_exceeded',
      'no_access',
      'unknown_customer',
      'unknown_feature',
    ]);
  });
});
