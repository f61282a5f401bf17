// Where the compiled evaluator lives, so hosts need not guess the package layout.
import { fileURLToPath } from 'node:url';

export const releaseWasmPath = fileURLToPath(new URL('./build/release.wasm', import.meta.url));
export const debugWasmPath = fileURLToPath(new URL('./build/debug.wasm', import.meta.url));
