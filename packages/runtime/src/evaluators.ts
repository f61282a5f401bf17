import { validationError } from '@tollgate/core';
import type { Evaluator } from '@tollgate/evaluator';

/**
 * Turns the `evaluator` option into an instance with no snapshot loaded yet; with
 * `threads`, the Wasm evaluator over shared memory. The evaluator package is imported on
 * first use, so a runtime handed its own evaluator never loads the Wasm module.
 */
export async function loadEvaluator(
  choice: 'wasm' | 'reference' | Evaluator,
  threads = false,
): Promise<Evaluator> {
  const { ReferenceEvaluator, SharedWasmEvaluator, createWasmEvaluator } =
    await import('@tollgate/evaluator');
  if (typeof choice !== 'string') {
    if (threads && !(choice instanceof SharedWasmEvaluator && choice.owner)) {
      throw validationError('threads', 'threads need a shared Wasm evaluator this thread owns');
    }
    return choice;
  }
  if (threads) return createWasmEvaluator({ shared: true });
  return choice === 'wasm' ? createWasmEvaluator() : new ReferenceEvaluator();
}
