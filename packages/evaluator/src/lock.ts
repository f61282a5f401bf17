// The lock every thread holds around its calls into a shared evaluator. It lives in the
// evaluator's control block (see assembly/src/memory.ts), so each thread's instance
// reaches the same words through its own view of the one shared memory.
//
// ╒════════════════ control block, as i32 words ════════════════╕
// │ 0 lock state │ 1 generation │ 2 base │ 3 accounts          │
// │ 4 slots 0–31 │ 5 slots 32–63 │ 6 holder slot + 1 │ 7 0     │
// └─────────────────────────────────────────────────────────────┘
//
// The lock is the three-state futex mutex of Drepper's "Futexes Are Tricky": 0 free,
// 1 held, 2 held with threads waiting, with a short spin before sleeping. An uncontended
// enter and leave cost one atomic each; only a leave that saw waiters wakes one. It is
// re-entrant per thread by a depth count, so a carry-over run inside an activation may
// decide again.

const LOCK = 0;
export const SLOTS_LOW = 4;
export const SLOTS_HIGH = 5;
const HOLDER = 6;

const FREE = 0;
const HELD = 1;
const CONTENDED = 2;
const SPINS_MAX = 200;

export class SharedLock {
  readonly #words: Int32Array;
  readonly #holder: number;
  #depth = 0;

  /** `words` views the control block; `slot` is the scratch slot of this thread. */
  constructor(words: Int32Array, slot: number) {
    this.#words = words;
    this.#holder = slot + 1;
  }

  get held(): boolean {
    return this.#depth > 0;
  }

  enter(): void {
    if (this.#depth > 0) {
      this.#depth += 1;
      return;
    }
    const words = this.#words;
    if (Atomics.compareExchange(words, LOCK, FREE, HELD) !== FREE) this.#contend(words);
    // The holder is read only to recover from a thread that died holding the lock, after
    // that thread is gone: a plain write is enough, and saves two atomics per call.
    words[HOLDER] = this.#holder;
    this.#depth = 1;
  }

  /**
   * A call holds the lock for about a hundred nanoseconds, less than a sleep and a wake
   * cost: spin on a plain read a few times first, then sleep on the futex.
   */
  #contend(words: Int32Array): void {
    for (let spin = 0; spin < SPINS_MAX; spin++) {
      if (Atomics.load(words, LOCK) === FREE) {
        if (Atomics.compareExchange(words, LOCK, FREE, HELD) === FREE) return;
      }
    }
    // Mark the lock contended before sleeping, so that the holder's leave wakes us.
    let state = Atomics.exchange(words, LOCK, CONTENDED);
    while (state !== FREE) {
      Atomics.wait(words, LOCK, CONTENDED);
      state = Atomics.exchange(words, LOCK, CONTENDED);
    }
  }

  leave(): void {
    this.#depth -= 1;
    if (this.#depth > 0) return;
    const words = this.#words;
    words[HOLDER] = 0;
    if (Atomics.sub(words, LOCK, 1) !== HELD) {
      Atomics.store(words, LOCK, FREE);
      Atomics.notify(words, LOCK, 1);
    }
  }

  /** Runs `work` holding the lock. */
  run<T>(work: () => T): T {
    this.enter();
    try {
      return work();
    } finally {
      this.leave();
    }
  }

  /**
   * Frees the lock when the thread of `slot` holds it: that thread ended inside a call
   * (`worker.terminate()`), and would otherwise stop every other thread for good.
   * True when it did.
   */
  static breakFor(words: Int32Array, slot: number): boolean {
    if (Atomics.compareExchange(words, HOLDER, slot + 1, 0) !== slot + 1) return false;
    Atomics.store(words, LOCK, FREE);
    Atomics.notify(words, LOCK, 1);
    return true;
  }
}

/** Claims the lowest free scratch slot below `slots`; −1 when every one is taken. */
export function claimSlot(words: Int32Array, slots: number): number {
  for (let slot = 0; slot < slots; slot++) {
    const index = slot < 32 ? SLOTS_LOW : SLOTS_HIGH;
    const bit = 1 << (slot % 32);
    const before = Atomics.or(words, index, bit);
    if ((before & bit) === 0) return slot;
  }
  return -1;
}

/** Gives a scratch slot back; true when it was taken. */
export function freeSlot(words: Int32Array, slot: number): boolean {
  const index = slot < 32 ? SLOTS_LOW : SLOTS_HIGH;
  const bit = 1 << (slot % 32);
  return (Atomics.and(words, index, ~bit) & bit) !== 0;
}
