import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { isTollgateError } from '@tollgate/core';
import { debugWasmPath, releaseWasmPath } from '@tollgate/assembly';
import { verifySnapshot } from '@tollgate/snapshot';
import {
  ABI_VERSION,
  ReferenceEvaluator,
  WasmEvaluator,
  assertEvaluatorAbi,
  createWasmEvaluator,
} from '../src/index.js';
import type { EvaluatorExports } from '../src/index.js';
import { F, T0, plansBytes } from './fixtures.js';

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (isTollgateError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

async function rawExports(path: string): Promise<EvaluatorExports> {
  const abort = () => {
    throw new Error('abort');
  };
  const { instance } = await WebAssembly.instantiate(await readFile(path), { env: { abort } });
  return assertEvaluatorAbi(instance.exports);
}

describe('assertEvaluatorAbi', () => {
  it('accepts both builds of the module this host was built with', async () => {
    for (const path of [releaseWasmPath, debugWasmPath]) {
      expect((await rawExports(path)).tg_abi_version()).toBe(ABI_VERSION);
    }
  });

  it('refuses a module with another ABI version', async () => {
    const patched = {
      ...(await rawExports(releaseWasmPath)),
      tg_abi_version: () => ABI_VERSION + 1,
    };
    expect(codeOf(() => assertEvaluatorAbi(patched))).toBe('TOLLGATE_ERR_ABI_MISMATCH');
    expect(codeOf(() => new WasmEvaluator(patched))).toBe('TOLLGATE_ERR_ABI_MISMATCH');
  });

  it('refuses a module missing an export or reading another snapshot format', async () => {
    const { tg_decide: _decide, ...missing } = await rawExports(releaseWasmPath);
    expect(() => assertEvaluatorAbi(missing)).toThrow(
      expect.objectContaining({ detail: 'missing export tg_decide' }),
    );
    const otherFormat = { ...(await rawExports(releaseWasmPath)), tg_format_version: () => 1 };
    expect(codeOf(() => assertEvaluatorAbi(otherFormat))).toBe('TOLLGATE_ERR_ABI_MISMATCH');
  });
});

describe.each([
  ['release', releaseWasmPath],
  ['debug', debugWasmPath],
])('tg_load of the %s build', (_name, path) => {
  function stage(exports: EvaluatorExports, bytes: Uint8Array, customers = 2): void {
    const at = exports.tg_stage(bytes.length, customers, 6, 1);
    new Uint8Array(exports.memory.buffer, at, bytes.length).set(bytes);
  }

  it('refuses to load when nothing was staged', async () => {
    expect((await rawExports(path)).tg_load()).toBe(1);
  });

  it('checks structure itself, without relying on the host checksum', async () => {
    const exports = await rawExports(path);
    const bytes = plansBytes();
    const { sections } = verifySnapshot(bytes);

    const badAccess = bytes.slice();
    badAccess[sections.entitlements] = 7;
    stage(exports, badAccess);
    expect(exports.tg_load()).toBe(7);

    const badOffset = bytes.slice();
    new DataView(badOffset.buffer).setUint32(76, 1 << 30, true);
    stage(exports, badOffset);
    expect(exports.tg_load()).toBe(5);

    stage(exports, bytes, 3);
    expect(exports.tg_load()).toBe(6);
    stage(exports, bytes.subarray(0, 90));
    expect(exports.tg_load()).toBe(2);
    expect(exports.tg_customer_count()).toBe(0);

    stage(exports, bytes);
    expect(exports.tg_load()).toBe(0);
    expect(exports.tg_customer_count()).toBe(2);
  });
});

describe('WasmEvaluator.checkBatch', () => {
  it('returns the reason checkHandle gives for each request, across several chunks', async () => {
    const evaluator = await createWasmEvaluator();
    const reference = new ReferenceEvaluator();
    evaluator.load(plansBytes());
    reference.load(plansBytes());
    const count = 2500;
    const handles = new Int32Array(count);
    const features = new Int32Array(count);
    const quantities = new Float64Array(count);
    for (let index = 0; index < count; index++) {
      handles[index] = (index % 3) - 1;
      features[index] = (index % 8) - 1;
      quantities[index] = (index * 7) % 120;
    }
    const reasons = evaluator.checkBatch(handles, features, quantities, T0);
    const expected = Array.from(handles, (handle, index) => {
      const quantity = quantities[index] as number;
      return reference.checkHandle(handle, features[index] as number, quantity, T0).reason;
    });
    expect(Array.from(reasons)).toEqual(expected);
    expect(new Set(expected)).toEqual(new Set([0, 1, 2, 3, 5, 6]));
  });

  it('records nothing', async () => {
    const evaluator = await createWasmEvaluator();
    evaluator.load(plansBytes());
    const handle = evaluator.customerHandle('cus_pro');
    const one = (value: number) => Int32Array.of(value);
    evaluator.checkBatch(one(handle), one(F.calls), Float64Array.of(5), T0);
    expect(evaluator.check('cus_pro', F.calls, 0, T0).used).toBe(90);
  });
});

describe('the debug build', () => {
  it('fails an assertion with a coded error naming the reason', async () => {
    const evaluator = await createWasmEvaluator({ debug: true });
    evaluator.load(plansBytes());
    expect(() => evaluator.check('cus_pro', F.calls, -1, T0)).toThrow(
      expect.objectContaining({
        code: 'TOLLGATE_ERR_INTERNAL',
        detail: expect.stringContaining('quantity out of range'),
      }),
    );
  });
});
