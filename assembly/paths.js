// Where the compiled evaluator lives, so hosts need not guess the package layout.
import { fileURLToPath } from 'node:url';

export const releaseWasmPath = fileURLToPath(new URL('./build/release.wasm', import.meta.url));
export const debugWasmPath = fileURLToPath(new URL('./build/debug.wasm', import.meta.url));
/** The shared-memory build: several threads' instances over one imported memory. */
export const sharedWasmPath = fileURLToPath(new URL('./build/shared.wasm', import.meta.url));
