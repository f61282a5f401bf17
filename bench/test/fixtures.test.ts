import { describe, expect, it } from 'vitest';
import { ReferenceEvaluator, createWasmEvaluator } from '@tollgate/evaluator';
import { encodeSnapshot } from '@tollgate/snapshot';
import { naiveMapBaseline, nestedMapBaseline } from '../src/fixtures/baselines.js';
import { NOW_MS, features, fixtureInput } from '../src/fixtures/fixture.js';
import { verifyChecks } from '../src/fixtures/verify.js';

// The benchmarks refuse to time a subject whose answers differ from the fixture's rules;
// these tests keep those rules and both evaluators in agreement, without timing anything.
// 8,001 answers: 100 customers (every 20th of 2,000) × 10 features × 8 quantities + 1.
describe('benchmark fixture', () => {
  const customerCount = 2000;
  const bytes = encodeSnapshot(fixtureInput(customerCount));

  it('matches the Wasm evaluator on every sampled check', async () => {
    const wasm = await createWasmEvaluator();
    wasm.load(bytes);
    const check = (id: string, f: number, q: number) => wasm.check(id, f, q, NOW_MS);
    expect(verifyChecks('Wasm', customerCount, check)).toBe(8001);
  });

  it('matches the TypeScript reference on every sampled check', () => {
    const reference = new ReferenceEvaluator();
    reference.load(bytes);
    const check = (id: string, f: number, q: number) => reference.check(id, f, q, NOW_MS);
    expect(verifyChecks('reference', customerCount, check)).toBe(8001);
  });

  it('holds both plain-Map baselines to the same answers', () => {
    for (const baseline of [naiveMapBaseline(customerCount), nestedMapBaseline(customerCount)]) {
      const check = (id: string, f: number, q: number) => baseline.check(id, features[f]!.key, q);
      expect(verifyChecks(baseline.name, customerCount, check)).toBe(8001);
    }
  });
});
