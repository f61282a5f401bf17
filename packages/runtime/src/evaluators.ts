import type { Evaluator } from '@tollgate/evaluator';

/**
 * Turns the `evaluator` option into an instance with no snapshot loaded yet. The
 * evaluator package is imported on first use, so a runtime handed its own evaluator
 * never loads the Wasm module.
 */
export async function loadEvaluator(choice: 'wasm' | 'reference' | Evaluator): Promise<Evaluator> {
  if (typeof choice !== 'string') return choice;
  const { ReferenceEvaluator, createWasmEvaluator } = await import('@tollgate/evaluator');
  return choice === 'wasm' ? createWasmEvaluator() : new ReferenceEvaluator();
}
