import { describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { LimitBehavior, isTollgateError } from '@tollgate/core';
import { Header, encodeSnapshot, verifySnapshot } from '@tollgate/snapshot';
import { F, T0, evaluatorFactories, plansBytes, plansSnapshot } from './fixtures.js';

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (isTollgateError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

/** Writes a valid checksum after an edit, so that only the evaluator's own checks remain. */
export function resealed(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  const checksum = crc32(copy.subarray(12), crc32(copy.subarray(0, 8)));
  new DataView(copy.buffer).setUint32(Header.checksum, checksum, true);
  return copy;
}

describe.each(evaluatorFactories)('%s evaluator load', (_name, create) => {
  it('keeps the previous snapshot and its accounting serving after a corrupted load', async () => {
    const evaluator = await create();
    evaluator.load(plansBytes(7));
    evaluator.consume('cus_pro', F.calls, 4, T0);
    evaluator.hold('cus_pro', F.images, 1, T0);
    const before = [
      evaluator.check('cus_pro', F.calls, 1, T0),
      evaluator.check('cus_pro', F.images, 3, T0),
    ];
    expect(before.map((decision) => [decision.used, decision.remaining])).toEqual([
      [94, 6],
      [75, 75],
    ]);

    const damaged = plansBytes(8);
    damaged[300] = (damaged[300] as number) ^ 0xff;
    expect(codeOf(() => evaluator.load(damaged))).toBe('TOLLGATE_ERR_SNAPSHOT_CORRUPT');
    expect(codeOf(() => evaluator.load(plansBytes(8).subarray(0, 200)))).toBe(
      'TOLLGATE_ERR_SNAPSHOT_CORRUPT',
    );
    expect(evaluator.snapshotVersion).toBe(7);
    expect([
      evaluator.check('cus_pro', F.calls, 1, T0),
      evaluator.check('cus_pro', F.images, 3, T0),
    ]).toEqual(before);
  });

  it('starts local accounting from zero after a successful load', async () => {
    const evaluator = await create();
    evaluator.load(plansBytes(7));
    evaluator.consume('cus_pro', F.calls, 10, T0);
    evaluator.load(plansBytes(8));
    expect(evaluator.check('cus_pro', F.calls, 0, T0)).toMatchObject({
      used: 90,
      snapshotVersion: 8,
    });
  });

  it('starts from zero again when a load reuses the memory of an earlier one', async () => {
    const evaluator = await create();
    for (const version of [7, 8, 9, 10]) {
      evaluator.load(plansBytes(version));
      expect(evaluator.check('cus_pro', F.calls, 0, T0)).toMatchObject({ used: 90 });
      expect(evaluator.check('cus_pro', F.images, 1, T0)).toMatchObject({ remaining: 100 });
      evaluator.consume('cus_pro', F.calls, version - 6, T0);
      evaluator.hold('cus_pro', F.images, 1, T0);
    }
  });

  it('refuses another format version (1, the format before seats) as unsupported', async () => {
    const evaluator = await create();
    const future = plansBytes().slice();
    new DataView(future.buffer).setUint16(Header.formatVersion, 1, true);
    expect(codeOf(() => evaluator.load(resealed(future)))).toBe(
      'TOLLGATE_ERR_SNAPSHOT_UNSUPPORTED',
    );
  });

  it('refuses a row value out of range even under a valid checksum', async () => {
    const evaluator = await create();
    evaluator.load(plansBytes(7));
    const bytes = plansBytes(8);
    const damaged = bytes.slice();
    const { sections } = verifySnapshot(bytes);
    new DataView(damaged.buffer).setInt32(sections.entitlements + 8 + 4, 0x40_0000, true);
    expect(codeOf(() => evaluator.load(resealed(damaged)))).toBe('TOLLGATE_ERR_SNAPSHOT_CORRUPT');
    expect(evaluator.snapshotVersion).toBe(7);
  });
});

/** Many customers, so that each snapshot spans several pages of Wasm memory. */
function wideSnapshot(version: number, customerCount: number): Uint8Array {
  const input = plansSnapshot(version);
  const template = input.customers[0];
  if (template === undefined) throw new Error('fixture has no customers');
  input.customers = Array.from({ length: customerCount }, (_, index) => ({
    ...template,
    id: `cus_${index}`,
  }));
  const balance = input.customers[0]?.balances[0];
  if (balance !== undefined) balance.behavior = LimitBehavior.Soft;
  return encodeSnapshot(input);
}

describe.each(evaluatorFactories.slice(1))('%s evaluator memory', (_name, create) => {
  it('stays bounded across 50 loads of snapshots of varying size', async () => {
    const evaluator = await create();
    const sizes = [3000, 2500, 3000, 2800];
    const memoryAfterLoad: number[] = [];
    for (let load = 1; load <= 50; load++) {
      evaluator.load(wideSnapshot(load, sizes[load % sizes.length] as number));
      memoryAfterLoad.push((evaluator as unknown as { memoryBytes: number }).memoryBytes);
    }
    expect(evaluator.snapshotVersion).toBe(50);
    expect(evaluator.check('cus_2999', F.calls, 1, T0).reasonName).toBe('allowed');
    // Two regions the size of the largest snapshot, plus the static buffers.
    const perSnapshotBytes = wideSnapshot(0, 3000).length * 2;
    expect(Math.max(...memoryAfterLoad)).toBeLessThan(3 * perSnapshotBytes + 4 * 65536);
    expect(memoryAfterLoad[49]).toBe(memoryAfterLoad[9]);
  });
});
