// The lock every thread holds around its calls into a shared evaluator. It lives in the
// evaluator's control block (see assembly/src/memory.ts), so each thread's instance
// reaches the same words through its own view of the one shared memory.
//
// ╒════════════════ control block, as i32 words ════════════════╕
// │ 0 lock state │ 1 generation │ 2 base │ 3 accounts          │
// │ 4 slots 0–31 │ 5 slots 32–63 │ 6 holder stamp │ 7 0        │
// └─────────────────────────────────────────────────────────────┘
//
// The lock is the three-state futex mutex of Drepper's "Futexes Are Tricky": 0 free,
// 1 held, 2 held with threads waiting, with a short spin before sleeping. An uncontended
// enter and leave cost one atomic each; only a leave that saw waiters wakes one. It is
// re-entrant per thread by a depth count, so a carry-over run inside an activation may
// decide again.
//
// A thread can end inside a call (`worker.terminate()`), holding the lock for good. The
// holder stamps word 6 with its slot and its own count of acquisitions; a waiter sleeps
// in slices, and when the lock stays held under one unchanged stamp for `STALE_MS` (a
// call holds it for microseconds) it takes the lock over, by a compare-and-swap of the
// stamp, so that only one waiter does. The owner's clean-up of an ended worker frees the
// lock at once when the stamp names that worker (`breakFor`).

const LOCK = 0;
export const SLOTS_LOW = 4;
export const SLOTS_HIGH = 5;
const HOLDER = 6;

const FREE = 0;
const HELD = 1;
const CONTENDED = 2;
const SPINS_MAX = 200;
const SLOT_BITS = 6;
const WAIT_SLICE_MS = 50;
/** Held this long under one stamp, the lock is taken to belong to a thread that ended. */
export const STALE_MS = 2000;

export class SharedLock {
  readonly #words: Int32Array;
  readonly #slot: number;
  #depth = 0;
  #acquisitions = 0;
  /** Called when this thread took over a lock a thread that ended was holding. */
  onTakeOver: (stamp: number) => void = () => undefined;

  /** `words` views the control block; `slot` is the scratch slot of this thread. */
  constructor(words: Int32Array, slot: number) {
    this.#words = words;
    this.#slot = slot;
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
    // A plain write: only a waiter reads it, to tell a live holder from one that ended.
    words[HOLDER] = this.#stamp();
    this.#depth = 1;
  }

  #stamp(): number {
    this.#acquisitions = (this.#acquisitions + 1) & 0x1ff_ffff;
    return (this.#acquisitions << SLOT_BITS) | this.#slot;
  }

  /**
   * A call holds the lock for about a hundred nanoseconds, less than a sleep and a wake
   * cost: spin on a plain read a few times first, then sleep on the futex in slices.
   */
  #contend(words: Int32Array): void {
    for (let spin = 0; spin < SPINS_MAX; spin++) {
      if (Atomics.load(words, LOCK) === FREE) {
        if (Atomics.compareExchange(words, LOCK, FREE, HELD) === FREE) return;
      }
    }
    // Mark the lock contended before sleeping, so that the holder's leave wakes us.
    let state = Atomics.exchange(words, LOCK, CONTENDED);
    let stamp = words[HOLDER]!;
    let sinceMs = performance.now();
    while (state !== FREE) {
      Atomics.wait(words, LOCK, CONTENDED, WAIT_SLICE_MS);
      state = Atomics.exchange(words, LOCK, CONTENDED);
      if (state === FREE) return;
      const now = performance.now();
      if (words[HOLDER] !== stamp) {
        stamp = words[HOLDER]!;
        sinceMs = now;
      } else if (now - sinceMs >= STALE_MS && this.#takeOver(words, stamp)) {
        return;
      }
    }
  }

  /** Takes a lock held too long under `stamp`; false when another waiter took it first. */
  #takeOver(words: Int32Array, stamp: number): boolean {
    if (Atomics.compareExchange(words, HOLDER, stamp, this.#stamp()) !== stamp) return false;
    this.onTakeOver(stamp);
    return true;
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
    const stamp = words[HOLDER]!;
    if (stamp === 0 || (stamp & ((1 << SLOT_BITS) - 1)) !== slot) return false;
    if (Atomics.compareExchange(words, HOLDER, stamp, 0) !== stamp) return false;
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
