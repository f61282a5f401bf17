import type { Evaluator } from '@tollgate/evaluator';

interface CarriedUse {
  customer: string;
  feature: string;
  quantity: number;
  timeMs: number;
  /** The watermark a snapshot must reach to include this use; null until acknowledged. */
  includedAt: number | null;
}

/**
 * Every local use a loaded snapshot may not include yet, keyed by the local sequence of
 * its usage event. The carry-over rule: a snapshot states its usage watermark; a use is
 * in it when the control plane acknowledged the use's event with a sequence at or below
 * that watermark. After a load, every other use is recorded again, and the included ones
 * are forgotten. Nothing has to be flushed first, so a snapshot can be swapped in while
 * the control plane is slow or down, and a pushed snapshot applies at once.
 *
 * A use whose event was ingested but whose acknowledgement was lost counts twice until
 * the retry is acknowledged (as a duplicate) and the next snapshot loads: the error is a
 * transient over-count, the safe side for a limit.
 */
export class CarryLog {
  readonly #uses = new Map<number, CarriedUse>();

  get size(): number {
    return this.#uses.size;
  }

  add(seq: number, customer: string, feature: string, quantity: number, timeMs: number): void {
    this.#uses.set(seq, { customer, feature, quantity, timeMs, includedAt: null });
  }

  /** Notes the sequences the control plane gave a batch; null means it will never count. */
  acknowledge(seqs: readonly number[], sequences: readonly (number | null)[]): void {
    seqs.forEach((seq, index) => {
      const use = this.#uses.get(seq);
      if (use === undefined) return;
      const sequence = sequences[index];
      if (sequence === null || sequence === undefined) this.#uses.delete(seq);
      else use.includedAt = sequence;
    });
  }

  /** Forgets uses the control plane refused: no snapshot will ever include them. */
  forget(seqs: readonly number[]): void {
    for (const seq of seqs) this.#uses.delete(seq);
  }

  /** Records, in a freshly loaded snapshot, every use it does not include. */
  carryInto(evaluator: Evaluator, usageWatermark: number): void {
    for (const [seq, use] of this.#uses) {
      if (use.includedAt !== null && use.includedAt <= usageWatermark) {
        this.#uses.delete(seq);
        continue;
      }
      const index = evaluator.featureIndex(use.feature);
      if (index >= 0) evaluator.record(use.customer, index, use.quantity, use.timeMs);
    }
  }
}
