import { readFile } from 'node:fs/promises';
import { debugWasmPath, releaseWasmPath, sharedWasmPath } from '@tollgate/assembly';
import { SharedWasmEvaluator } from './shared.js';
import { WasmEvaluator, instantiate } from './wasm.js';

export interface WasmEvaluatorOptions {
  /** Use the debug build: assertions on, slower. Default false. */
  debug?: boolean;
  /** Load the module from this file instead of the `@tollgate/assembly` build. */
  wasmPath?: string;
  /**
   * Build over a shared memory, so that worker threads can attach to it with
   * `attachWasmEvaluator(evaluator.share())` and decide from the one snapshot this thread
   * loads (see `SharedWasmEvaluator`). Default false.
   */
  shared?: boolean;
}

// The shared build declares at least this many 64 KiB pages (assembly/asconfig.json) and
// may grow to 4 GiB, the most a 32-bit memory holds.
const SHARED_MEMORY_PAGES_INITIAL = 24;
const SHARED_MEMORY_PAGES_MAX = 65536;

/** Compiled modules by path: compiling once lets many evaluators start cheaply. */
const modules = new Map<string, Promise<WebAssembly.Module>>();

/**
 * Compiles (once per path) and instantiates the Wasm evaluator. Throws
 * `TOLLGATE_ERR_ABI_MISMATCH` when the module is not the one this host was built for.
 *
 * @example
 * ```ts
 * const evaluator = await createWasmEvaluator();
 * evaluator.load(snapshotBytes);
 * const decision = evaluator.check('cus_1', evaluator.featureIndex('seats'), 1, Date.now());
 * ```
 */
export async function createWasmEvaluator(
  options: WasmEvaluatorOptions & { shared: true },
): Promise<SharedWasmEvaluator>;
export async function createWasmEvaluator(options?: WasmEvaluatorOptions): Promise<WasmEvaluator>;
export async function createWasmEvaluator(
  options: WasmEvaluatorOptions = {},
): Promise<WasmEvaluator> {
  if (options.shared === true) {
    const module = await compile(options.wasmPath ?? sharedWasmPath);
    const memory = new WebAssembly.Memory({
      initial: SHARED_MEMORY_PAGES_INITIAL,
      maximum: SHARED_MEMORY_PAGES_MAX,
      shared: true,
    });
    return SharedWasmEvaluator.own({ module, memory });
  }
  const path = options.wasmPath ?? (options.debug === true ? debugWasmPath : releaseWasmPath);
  return new WasmEvaluator(await instantiate(await compile(path)));
}

/** Compiles the module at `path` once per process: many evaluators then start cheaply. */
export function compile(path: string): Promise<WebAssembly.Module> {
  let module = modules.get(path);
  if (module === undefined) {
    module = readFile(path).then((bytes) => WebAssembly.compile(bytes));
    modules.set(path, module);
  }
  return module;
}
