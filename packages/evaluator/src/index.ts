/**
 * The decision engine: the Wasm evaluator and its TypeScript reference, which share
 * one set of semantics (see README.md).
 *
 * @example
 * ```ts
 * import { createWasmEvaluator } from '@tollgate/evaluator';
 *
 * const evaluator = await createWasmEvaluator();
 * evaluator.load(snapshotBytes);
 * const tokens = evaluator.featureIndex('ai_tokens');
 * const decision = evaluator.consume('cus_42', tokens, 1200, Date.now());
 * if (!decision.allowed) console.log(decision.reasonName, decision.remaining);
 * ```
 */
export type { Evaluator, LoadInStepsOptions } from './evaluator.js';
/** The handle-based fast path both evaluators offer. */
export type { HandleEvaluator } from './handles.js';
/** The Wasm evaluator, its factory and options. */
export { createWasmEvaluator } from './create.js';
export { WasmEvaluator } from './wasm.js';
export type { WasmEvaluatorOptions } from './create.js';
/** The Wasm evaluator over a memory shared by worker threads. */
export { SharedWasmEvaluator, attachWasmEvaluator } from './shared.js';
export type { SharedEvaluatorHandle } from './shared.js';
/** The TypeScript reference evaluator over a decoded snapshot. */
export { ReferenceEvaluator } from './reference.js';
/** The host's ABI version and its check, which throws `TOLLGATE_ERR_ABI_MISMATCH`. */
export { ABI_VERSION, assertEvaluatorAbi } from './abi.js';
export type { EvaluatorExports } from './abi.js';
