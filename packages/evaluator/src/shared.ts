import { TollgateError } from '@tollgate/core';
import type { Decision } from '@tollgate/core';
import { assertEvaluatorAbi } from './abi.js';
import type { LoadInStepsOptions } from './evaluator.js';
import { SharedLock, claimSlot, freeSlot } from './lock.js';
import { WasmEvaluator, instantiate } from './wasm.js';

/**
 * What a worker thread needs to attach to a shared evaluator. Both members post to a
 * worker (`workerData` or `postMessage`) without being copied.
 */
export interface SharedEvaluatorHandle {
  /** The compiled shared build of the evaluator. */
  readonly module: WebAssembly.Module;
  /** The one memory every thread's instance reads: snapshots, accounting, buffers. */
  readonly memory: WebAssembly.Memory;
}

const CONTROL_WORDS = 8;
const GENERATION = 1;

/**
 * The Wasm evaluator over a shared memory: one copy of the snapshot per process, read
 * by an instance in each thread. The owner (the thread that created it) loads snapshots;
 * a worker attaches with `attachWasmEvaluator(handle)` and decides from whatever the
 * owner activated last. Every call holds one lock, so a use or hold recorded by any
 * thread is seen by the next call of every other: limits stay exact across threads.
 *
 * Customer handles and feature indexes are valid until the next activation, which may
 * happen between two calls of a worker: a worker that looks one up and then decides
 * with it runs both inside one `exclusive` call.
 *
 * @example
 * ```ts
 * // main thread
 * const evaluator = await createWasmEvaluator({ shared: true });
 * evaluator.load(snapshotBytes);
 * new Worker(new URL('./worker.js', import.meta.url), { workerData: evaluator.share() });
 * // worker.js
 * const evaluator = await attachWasmEvaluator(workerData);
 * const decision = evaluator.exclusive(() =>
 *   evaluator.consume('cus_42', evaluator.featureIndex('api_calls'), 1, Date.now()),
 * );
 * ```
 */
export class SharedWasmEvaluator extends WasmEvaluator {
  /** This thread's scratch slot; 0 is the owner's. */
  readonly slot: number;
  readonly #handle: SharedEvaluatorHandle;
  readonly #words: Int32Array;
  readonly #lock: SharedLock;
  #generation = 0;
  #detached = false;

  private constructor(
    exports: WebAssembly.Exports,
    handle: SharedEvaluatorHandle,
    words: Int32Array,
    slot: number,
  ) {
    super(exports, slot);
    this.slot = slot;
    this.#handle = handle;
    this.#words = words;
    this.#lock = new SharedLock(words, slot);
  }

  /** Instantiates over a fresh shared memory and takes slot 0; see `createWasmEvaluator`. */
  static async own(handle: SharedEvaluatorHandle): Promise<SharedWasmEvaluator> {
    return SharedWasmEvaluator.#instantiate(handle, true);
  }

  /** Attaches this thread to a shared evaluator; see `attachWasmEvaluator`. */
  static async attach(handle: SharedEvaluatorHandle): Promise<SharedWasmEvaluator> {
    return SharedWasmEvaluator.#instantiate(checkHandle(handle), false);
  }

  static async #instantiate(handle: SharedEvaluatorHandle, owner: boolean) {
    const exports = await instantiate(handle.module, handle.memory).catch((cause: unknown) => {
      // The engine refuses a memory smaller than the module declares, or another module's.
      throw attachError('the memory does not fit the module', 'memory', cause);
    });
    const checked = assertEvaluatorAbi(exports);
    // The control block's address is set by the module's start function.
    checked._start?.();
    const words = new Int32Array(handle.memory.buffer, checked.tg_control_block(), CONTROL_WORDS);
    const slot = claimSlot(words, checked.tg_thread_slots());
    if (owner ? slot !== 0 : slot < 0) {
      if (slot >= 0) freeSlot(words, slot);
      throw attachError(owner ? 'the memory has an owner already' : 'every slot is taken');
    }
    return new SharedWasmEvaluator(exports, handle, words, slot);
  }

  /** True in the thread that created the evaluator: the one that loads snapshots. */
  get owner(): boolean {
    return this.slot === 0;
  }

  /**
   * The activation this thread's instance serves: it moves by one with every snapshot the
   * owner activates. In a worker it is read inside `exclusive`, where it is current.
   */
  get generation(): number {
    return this.owner ? Atomics.load(this.#words, GENERATION) : this.#generation;
  }

  override get features() {
    return this.exclusive(() => super.features);
  }

  /** What a worker passes to `attachWasmEvaluator`. */
  share(): SharedEvaluatorHandle {
    return { module: this.#handle.module, memory: this.#handle.memory };
  }

  /**
   * Runs `work` holding the lock every thread's calls take, after adopting the snapshot
   * the owner activated last: the evaluator calls inside see one snapshot, and no other
   * thread's call comes between them. Re-entrant; keep `work` short and synchronous.
   */
  exclusive<T>(work: () => T): T {
    this.#enter();
    try {
      return work();
    } finally {
      this.#lock.leave();
    }
  }

  /** Takes the lock and adopts the latest activation; the caller leaves in `finally`. */
  #enter(): void {
    if (this.#detached) throw attachError('this thread detached (its runtime is closed)');
    this.#lock.enter();
    try {
      this.#follow();
    } catch (error) {
      this.#lock.leave();
      throw error;
    }
  }

  /** Gives this worker's slot back; later calls throw `TOLLGATE_ERR_THREAD_ATTACH`. */
  detach(): void {
    if (this.owner || this.#detached) return;
    this.#detached = true;
    freeSlot(this.#words, this.slot);
  }

  /**
   * The owner's clean-up after a worker ended without detaching: frees its slot and, when
   * it ended inside a call (`worker.terminate()`), the lock it held. True when the slot
   * was taken.
   */
  reclaimSlot(slot: number): boolean {
    if (!this.owner || slot === 0) return false;
    SharedLock.breakFor(this.#words, slot);
    return freeSlot(this.#words, slot);
  }

  protected override critical<T>(work: () => T): T {
    return this.exclusive(work);
  }

  #follow(): void {
    if (this.slot === 0 || !this.#lock.held) return;
    const generation = Atomics.load(this.#words, GENERATION);
    if (generation === this.#generation) return;
    this.adoptActive();
    this.#generation = generation;
  }

  #ownerOnly(what: string): void {
    if (this.owner) return;
    throw new TollgateError(
      'TOLLGATE_ERR_THREAD_OWNER_ONLY',
      `only the thread that created the shared evaluator may ${what}`,
      { detail: `called from slot ${this.slot}` },
    );
  }

  override load(bytes: Uint8Array): void {
    this.#ownerOnly('load a snapshot');
    this.exclusive(() => super.load(bytes));
  }

  override loadFile(path: string): void {
    this.#ownerOnly('load a snapshot');
    this.exclusive(() => super.loadFile(path));
  }

  override async loadInSteps(bytes: Uint8Array, options?: LoadInStepsOptions): Promise<void> {
    this.#ownerOnly('load a snapshot');
    // The steps run unlocked on a region no thread reads; `critical` locks the swap.
    return super.loadInSteps(bytes, options);
  }

  override get snapshotVersion(): number {
    return this.exclusive(() => super.snapshotVersion);
  }

  override get usageWatermark(): number {
    return this.exclusive(() => super.usageWatermark);
  }

  override get createdAtMs(): number {
    return this.exclusive(() => super.createdAtMs);
  }

  override holdsSeat(customerId: string, userId: string): boolean {
    return this.exclusive(() => super.holdsSeat(customerId, userId));
  }

  override nextChangeAtMs(customerId: string): number {
    return this.exclusive(() => super.nextChangeAtMs(customerId));
  }

  override featureIndex(key: string): number {
    this.#enter();
    try {
      return super.featureIndex(key);
    } finally {
      this.#lock.leave();
    }
  }

  override customerHandle(customerId: string): number {
    this.#enter();
    try {
      return super.customerHandle(customerId);
    } finally {
      this.#lock.leave();
    }
  }

  override check(customerId: string, feature: number, quantity: number, nowMs: number): Decision {
    this.#enter();
    try {
      return super.check(customerId, feature, quantity, nowMs);
    } finally {
      this.#lock.leave();
    }
  }

  override checkHandle(handle: number, feature: number, quantity: number, nowMs: number): Decision {
    this.#enter();
    try {
      return super.checkHandle(handle, feature, quantity, nowMs);
    } finally {
      this.#lock.leave();
    }
  }

  override consume(customerId: string, feature: number, quantity: number, nowMs: number): Decision {
    this.#enter();
    try {
      return super.consume(customerId, feature, quantity, nowMs);
    } finally {
      this.#lock.leave();
    }
  }

  override hold(customerId: string, feature: number, quantity: number, nowMs: number): Decision {
    this.#enter();
    try {
      return super.hold(customerId, feature, quantity, nowMs);
    } finally {
      this.#lock.leave();
    }
  }

  override release(customerId: string, feature: number, quantity: number, nowMs: number): void {
    this.#enter();
    try {
      return super.release(customerId, feature, quantity, nowMs);
    } finally {
      this.#lock.leave();
    }
  }

  override settle(
    customerId: string,
    feature: number,
    held: number,
    actual: number,
    nowMs: number,
  ): number {
    this.#enter();
    try {
      return super.settle(customerId, feature, held, actual, nowMs);
    } finally {
      this.#lock.leave();
    }
  }

  override record(customerId: string, feature: number, quantity: number, nowMs: number): void {
    this.#enter();
    try {
      return super.record(customerId, feature, quantity, nowMs);
    } finally {
      this.#lock.leave();
    }
  }

  override checkBatch(
    handles: Int32Array,
    features: Int32Array,
    quantities: Float64Array,
    nowMs: number,
    reasons?: Uint8Array,
  ): Uint8Array {
    return this.exclusive(() => super.checkBatch(handles, features, quantities, nowMs, reasons));
  }
}

/**
 * Attaches this thread (a worker) to the shared evaluator another thread created: the
 * same snapshot, the same accounting, with scratch buffers of its own. Throws
 * `TOLLGATE_ERR_THREAD_ATTACH` for anything but a handle from `share()`, and when all
 * 63 worker slots are taken.
 *
 * @example
 * ```ts
 * const evaluator = await attachWasmEvaluator(workerData.evaluator);
 * ```
 */
export function attachWasmEvaluator(handle: SharedEvaluatorHandle): Promise<SharedWasmEvaluator> {
  return SharedWasmEvaluator.attach(handle);
}

function checkHandle(handle: SharedEvaluatorHandle): SharedEvaluatorHandle {
  const candidate = handle as Partial<SharedEvaluatorHandle> | null | undefined;
  if (!(candidate?.module instanceof WebAssembly.Module)) {
    throw attachError('the handle holds no compiled module', 'module');
  }
  const memory = candidate.memory;
  if (!(memory instanceof WebAssembly.Memory) || !(memory.buffer instanceof SharedArrayBuffer)) {
    throw attachError('the handle holds no shared memory', 'memory');
  }
  return { module: candidate.module, memory };
}

function attachError(message: string, field?: string, cause?: unknown): TollgateError {
  return new TollgateError('TOLLGATE_ERR_THREAD_ATTACH', `cannot attach: ${message}`, {
    ...(field === undefined ? {} : { field }),
    ...(cause === undefined ? {} : { cause }),
  });
}
