import type { Decision } from '@tollgate/core';
import type { Evaluator } from './evaluator.js';

/**
 * The fast path both evaluators offer for benchmarks and hot loops: resolve a customer
 * id to a handle once, then decide by handle. A handle is valid until the next `load`.
 */
export interface HandleEvaluator extends Evaluator {
  /** The customer's handle in the loaded snapshot, −1 when unknown. */
  customerHandle(customerId: string): number;
  /** `check` by handle; a handle of −1 (or out of range) answers `unknown_customer`. */
  checkHandle(handle: number, feature: number, quantity: number, nowMs: number): Decision;
}
