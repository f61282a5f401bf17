import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Cuts long work into slices of at most about `sliceMs`, with a turn of the event loop
 * between two slices, so that requests keep being decided while a snapshot loads. Work
 * calls `pause()` between small steps; it yields only once the slice is used up.
 */
export class Slicer {
  readonly #sliceMs: number;
  readonly #afterTurn: () => void;
  #sliceStartMs = performance.now();

  /** `afterTurn` runs after every yield; it throws to abandon the work. */
  constructor(sliceMs: number, afterTurn: () => void) {
    this.#sliceMs = sliceMs;
    this.#afterTurn = afterTurn;
  }

  readonly pause = async (): Promise<void> => {
    if (performance.now() - this.#sliceStartMs < this.#sliceMs) return;
    await nextTurn();
    this.#afterTurn();
    this.#sliceStartMs = performance.now();
  };
}
