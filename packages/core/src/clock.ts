/** A source of the current instant in epoch milliseconds. Everything time-dependent takes one. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/**
 * A clock that moves only when told to: the demo and tests run scenarios at fixed
 * instants with it, never reading the wall clock.
 */
export class ManualClock {
  #nowMs: number;

  constructor(start: number | string | Date) {
    this.#nowMs = toEpochMs(start);
  }

  readonly now: Clock = () => this.#nowMs;

  set(instant: number | string | Date): void {
    this.#nowMs = toEpochMs(instant);
  }

  advance(ms: number): void {
    this.#nowMs += ms;
  }
}

export function toEpochMs(instant: number | string | Date): number {
  const ms = typeof instant === 'number' ? instant : new Date(instant).getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`not an instant: ${String(instant)}`);
  return ms;
}
