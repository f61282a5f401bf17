import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { isTollgateError } from '@tollgate/core';
import { encodeSnapshot, verifySnapshot } from '@tollgate/snapshot';
import { createWasmEvaluator } from '../src/index.js';
import type { WasmEvaluator } from '../src/index.js';
import { F, T0, evaluatorFactories, plansBytes, plansSnapshot } from './fixtures.js';
import { resealed } from './load.test.js';

/** `plansSnapshot` grown to `customerCount` customers, each with the same rows. */
function manyCustomers(version: number, customerCount: number): Uint8Array {
  const input = plansSnapshot(version);
  const template = input.customers[0]!;
  input.customers = Array.from({ length: customerCount }, (_, index) => ({
    ...template,
    id: `cus_${index}`,
  }));
  return encodeSnapshot(input);
}

async function codeOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    if (isTollgateError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

/** Decides `cus_0` on every turn of the event loop until `done`, noting the versions seen. */
async function decideEachTurn(evaluator: WasmEvaluator, done: () => boolean) {
  const versions: number[] = [];
  let turns = 0;
  while (!done() && turns < 100_000) {
    const decision = evaluator.check('cus_0', F.calls, 1, T0);
    if (versions.at(-1) !== decision.snapshotVersion) versions.push(decision.snapshotVersion);
    turns += 1;
    await nextTurn();
  }
  return { versions, turns };
}

describe.each(evaluatorFactories)('%s evaluator loadInSteps', (_name, create) => {
  it('decides after a sliced load exactly as after a whole load', async () => {
    const whole = await create();
    const sliced = await create();
    whole.load(plansBytes(7));
    await sliced.loadInSteps(plansBytes(7));
    for (const feature of Object.values(F)) {
      for (const customer of ['cus_pro', 'cus_free', 'ghost']) {
        expect(sliced.check(customer, feature, 3, T0)).toEqual(
          whole.check(customer, feature, 3, T0),
        );
      }
    }
    expect(sliced.snapshotVersion).toBe(7);
  });

  it('refuses a corrupted snapshot and keeps the previous one and its accounting', async () => {
    const evaluator = await create();
    await evaluator.loadInSteps(plansBytes(7));
    evaluator.consume('cus_pro', F.calls, 4, T0);
    const damaged = plansBytes(8);
    damaged[300] = (damaged[300] as number) ^ 0xff;
    expect(await codeOf(evaluator.loadInSteps(damaged))).toBe('TOLLGATE_ERR_SNAPSHOT_CORRUPT');
    expect(evaluator.check('cus_pro', F.calls, 1, T0)).toMatchObject({
      snapshotVersion: 7,
      used: 94,
      remaining: 6,
    });
  });
});

describe('Wasm evaluator loadInSteps', () => {
  it('answers from the old snapshot on every turn until the new one swaps in', async () => {
    const evaluator = await createWasmEvaluator();
    evaluator.load(manyCustomers(1, 2000));
    evaluator.consume('cus_0', F.calls, 2, T0);
    let finished = false;
    const loading = evaluator.loadInSteps(manyCustomers(2, 60_000), { sliceMs: 0 }).then(() => {
      finished = true;
    });
    const seen = await decideEachTurn(evaluator, () => finished);
    await loading;
    // A slice of 0 ms yields after every step: many turns pass while the load runs.
    expect(seen.turns).toBeGreaterThan(20);
    expect(seen.versions).toEqual([1]);
    expect(evaluator.check('cus_0', F.calls, 1, T0)).toMatchObject({
      snapshotVersion: 2,
      used: 90,
    });
    expect(evaluator.check('cus_59999', F.calls, 1, T0).reasonName).toBe('allowed');
  });

  it('refuses a row out of range found in a later slice and keeps serving', async () => {
    const evaluator = await createWasmEvaluator();
    evaluator.load(manyCustomers(1, 10));
    const bytes = manyCustomers(2, 20_000);
    const { sections, featureCount } = verifySnapshot(bytes);
    const damaged = bytes.slice();
    // The last customer's metered row: its limit's high word far above 2^53.
    const row = sections.entitlements + ((20_000 - 1) * featureCount + F.calls) * 32;
    new DataView(damaged.buffer).setInt32(row + 8 + 4, 0x40_0000, true);
    expect(await codeOf(evaluator.loadInSteps(resealed(damaged), { sliceMs: 0 }))).toBe(
      'TOLLGATE_ERR_SNAPSHOT_CORRUPT',
    );
    expect(evaluator.snapshotVersion).toBe(1);
    expect(evaluator.check('cus_19999', F.calls, 1, T0).reasonName).toBe('unknown_customer');
    await evaluator.loadInSteps(bytes, { sliceMs: 0 });
    expect(evaluator.check('cus_19999', F.calls, 1, T0).reasonName).toBe('allowed');
  });

  it('reuses a checksum the caller computed, and refuses one that does not match', async () => {
    const evaluator = await createWasmEvaluator();
    evaluator.load(manyCustomers(1, 10));
    const bytes = manyCustomers(2, 10);
    const { checksum } = verifySnapshot(bytes);
    expect(await codeOf(evaluator.loadInSteps(bytes, { checksum: checksum ^ 1 }))).toBe(
      'TOLLGATE_ERR_SNAPSHOT_CORRUPT',
    );
    expect(evaluator.snapshotVersion).toBe(1);
    await evaluator.loadInSteps(bytes, { checksum });
    expect(evaluator.snapshotVersion).toBe(2);
  });

  it('gives up a sliced load that a later load overtakes', async () => {
    const evaluator = await createWasmEvaluator();
    evaluator.load(manyCustomers(1, 10));
    const slow = evaluator.loadInSteps(manyCustomers(2, 20_000), { sliceMs: 0 });
    await nextTurn();
    evaluator.load(manyCustomers(3, 10));
    expect(await codeOf(slow)).toBe('TOLLGATE_ERR_SNAPSHOT_SUPERSEDED');
    expect(evaluator.snapshotVersion).toBe(3);
    expect(evaluator.check('cus_9', F.calls, 1, T0).reasonName).toBe('allowed');
    expect(evaluator.check('cus_19999', F.calls, 1, T0).reasonName).toBe('unknown_customer');
  });
});

describe('Wasm evaluator loadFile', () => {
  const directory = mkdtempSync(join(tmpdir(), 'tollgate-load-file-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  const file = (name: string, bytes: Uint8Array) => {
    const path = join(directory, name);
    writeFileSync(path, bytes);
    return path;
  };

  it('decides from a file read into linear memory exactly as from loaded bytes', async () => {
    const fromBytes = await createWasmEvaluator();
    const fromFile = await createWasmEvaluator();
    fromBytes.load(plansBytes(7));
    fromFile.loadFile(file('v7.bin', plansBytes(7)));
    for (const feature of Object.values(F)) {
      for (const customer of ['cus_pro', 'cus_free', 'ghost']) {
        expect(fromFile.check(customer, feature, 3, T0)).toEqual(
          fromBytes.check(customer, feature, 3, T0),
        );
      }
    }
  });

  it('refuses a corrupted or truncated file and keeps the previous snapshot serving', async () => {
    const evaluator = await createWasmEvaluator();
    evaluator.loadFile(file('v7.bin', plansBytes(7)));
    evaluator.consume('cus_pro', F.calls, 4, T0);
    const damaged = plansBytes(8);
    damaged[300] = (damaged[300] as number) ^ 0xff;
    for (const bytes of [damaged, plansBytes(8).subarray(0, 200), plansBytes(8).subarray(0, 40)]) {
      const path = file('bad.bin', bytes);
      expect(await codeOf(Promise.resolve().then(() => evaluator.loadFile(path)))).toBe(
        'TOLLGATE_ERR_SNAPSHOT_CORRUPT',
      );
    }
    expect(evaluator.check('cus_pro', F.calls, 1, T0)).toMatchObject({
      snapshotVersion: 7,
      used: 94,
    });
  });
});
