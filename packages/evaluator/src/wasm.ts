import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { TollgateError } from '@tollgate/core';
import type { Decision, Reason } from '@tollgate/core';
import {
  CUSTOMER_RECORD_SIZE,
  HEADER_SIZE,
  Header,
  checksumInSlices,
  decodeCatalog,
  decodeSeatHolders,
  verifySnapshot,
} from '@tollgate/snapshot';
import type { SnapshotCatalog, SnapshotHeader } from '@tollgate/snapshot';
import { Operation, makeDecision } from './amounts.js';
import { LOAD_IN_PROGRESS, LOAD_OK, assertEvaluatorAbi, loadError } from './abi.js';
import type { EvaluatorExports } from './abi.js';
import type { LoadInStepsOptions } from './evaluator.js';
import type { HandleEvaluator } from './handles.js';
import { Slicer } from './slices.js';

const encoder = new TextEncoder();

/** What the host keeps of a snapshot beside the module. */
interface HostCatalog {
  features: SnapshotCatalog['features'];
  seats: Map<string, Set<string>>;
}

// Work per step of a sliced load, each well under a millisecond on the reference machine.
const COPY_BYTES_PER_STEP = 1 << 18;
const CHECK_ROWS_PER_STEP = 2048;

/**
 * Instantiates the module, over `memory` when it imports one (the shared build). An
 * assertion the module fails becomes `TOLLGATE_ERR_INTERNAL` with its place as detail.
 */
export async function instantiate(
  module: WebAssembly.Module,
  memory?: WebAssembly.Memory,
): Promise<WebAssembly.Exports> {
  const view: { current?: WebAssembly.Memory } = { current: memory };
  const abort = (messageAt: number, fileAt: number, line: number, column: number): never => {
    const where = `${readString(view.current, fileAt)}:${line}:${column}`;
    throw new TollgateError('TOLLGATE_ERR_INTERNAL', 'the evaluator failed an assertion', {
      detail: `${readString(view.current, messageAt)} at ${where}`,
    });
  };
  const env: WebAssembly.ModuleImports = memory === undefined ? { abort } : { abort, memory };
  const instance = await WebAssembly.instantiate(module, { env });
  view.current = instance.exports['memory'] as WebAssembly.Memory;
  return instance.exports;
}

/**
 * The evaluator compiled from AssemblyScript. Snapshot bytes live in its linear memory
 * and are read in place; local accounting sits beside them. Create it with
 * `createWasmEvaluator`.
 */
export class WasmEvaluator implements HandleEvaluator {
  readonly #exports: EvaluatorExports;
  readonly #idBufferAt: number;
  readonly #resultAt: number;
  readonly #batchCapacity: number;
  readonly #idBytesMax: number;
  #memoryBuffer: ArrayBuffer | undefined;
  #bytes = new Uint8Array(0);
  #idBytes = new Uint8Array(0);
  #resultInts = new Int32Array(0);
  #resultFloats = new Float64Array(0);
  #featureIndexByKey = new Map<string, number>();
  #features: SnapshotCatalog['features'] = [];
  #seatHolders = new Map<string, Set<string>>();
  /** Where the active snapshot's customer records start in linear memory; 0 before. */
  #customersAt = 0;
  #snapshotVersion = 0;
  /** Bumped by every load, so that a sliced load overtaken by another one gives up. */
  #loadGeneration = 0;

  /**
   * Checks the ABI of `exports` first; prefer `createWasmEvaluator`. `slot` is the scratch
   * slot of this instance over a shared memory (0 otherwise).
   */
  constructor(exports: WebAssembly.Exports, slot = 0) {
    this.#exports = assertEvaluatorAbi(exports);
    // Start sets the buffer addresses, so a started module has a non-zero id buffer.
    if (this.#exports.tg_id_buffer() === 0) this.#exports._start?.();
    if (slot !== 0 && this.#exports.tg_attach(slot) !== 0) {
      throw new TollgateError('TOLLGATE_ERR_THREAD_ATTACH', 'no such scratch slot', {
        detail: `slot ${slot} of ${this.#exports.tg_thread_slots()}`,
      });
    }
    this.#idBufferAt = this.#exports.tg_id_buffer();
    this.#resultAt = this.#exports.tg_result_buffer();
    this.#batchCapacity = this.#exports.tg_batch_capacity();
    this.#idBytesMax = this.#exports.tg_id_bytes_max();
    this.#refreshViews();
  }

  get snapshotVersion(): number {
    return this.#snapshotVersion;
  }

  get usageWatermark(): number {
    return this.#exports.tg_usage_watermark();
  }

  get createdAtMs(): number {
    return this.#exports.tg_created_at_ms();
  }

  /** Bytes of linear memory the module holds: snapshots, accounting and buffers. */
  get memoryBytes(): number {
    return this.#exports.memory.buffer.byteLength;
  }

  load(bytes: Uint8Array): void {
    this.#loadGeneration += 1;
    // The checksum and the catalog are checked here, before anything is staged, so a
    // failure leaves the active snapshot untouched; tg_load then checks the structure.
    const header = verifySnapshot(bytes);
    const catalog = this.#decodeHost(bytes, header);
    const stagedAt = this.#stage(bytes, header);
    this.#bytes.set(bytes, stagedAt);
    const status = this.#exports.tg_load();
    if (status !== LOAD_OK) throw loadError(status);
    this.#adopt(header, catalog, stagedAt);
  }

  /**
   * Loads a snapshot file as `load` does, reading its bytes straight into linear memory:
   * no copy of the file is made in the JavaScript heap. The header's counts size the
   * staging region; every check then runs on the bytes in place, before anything serves.
   *
   * @example
   * ```ts
   * evaluator.loadFile('/var/lib/tollgate/snapshot.bin');
   * ```
   */
  loadFile(path: string): void {
    this.#loadGeneration += 1;
    const descriptor = openSync(path, 'r');
    try {
      const length = fstatSync(descriptor).size;
      // A snapshot is at most 4 GiB − 1 bytes: its offsets are u32, and so is tg_stage's size.
      if (length > 0xffff_ffff) throw tooLarge(length);
      const head = new Uint8Array(Math.min(length, HEADER_SIZE));
      readSync(descriptor, head, 0, head.length, 0);
      // Counts are read unverified only to size the region; a lie fails the checks below.
      const counts = new DataView(head.buffer, 0, head.length);
      const countAt = (offset: number) =>
        head.length >= HEADER_SIZE ? counts.getUint32(offset, true) : 0;
      const stagedAt = this.#stageCounts(
        length,
        countAt(Header.customerCount),
        countAt(Header.featureCount),
        countAt(Header.currencyCount),
      );
      const staged = this.#bytes.subarray(stagedAt, stagedAt + length);
      for (let at = 0; at < length;) {
        const read = readSync(descriptor, staged, at, length - at, at);
        if (read === 0) break;
        at += read;
      }
      const header = verifySnapshot(staged);
      const catalog = this.#decodeHost(staged, header);
      const status = this.#exports.tg_load();
      if (status !== LOAD_OK) throw loadError(status);
      this.#adopt(header, catalog, stagedAt);
    } finally {
      closeSync(descriptor);
    }
  }

  /**
   * Loads as `load` does, but in slices of at most about `sliceMs` of work with a turn of
   * the event loop between them: the checksum, the copy into linear memory and the
   * structural checks all run while the active snapshot keeps answering, and the swap
   * itself takes constant time. A load started meanwhile abandons this one, which then
   * rejects with `TOLLGATE_ERR_SNAPSHOT_SUPERSEDED`.
   *
   * @example
   * ```ts
   * await evaluator.loadInSteps(await readFile('snapshot.bin'), { sliceMs: 1 });
   * ```
   */
  async loadInSteps(bytes: Uint8Array, options: LoadInStepsOptions = {}): Promise<void> {
    const generation = ++this.#loadGeneration;
    const slicer = new Slicer(options.sliceMs ?? 1, () => {
      if (generation !== this.#loadGeneration) throw superseded();
    });
    const checksum = options.checksum ?? (await checksumInSlices(bytes, slicer.pause));
    const header = verifySnapshot(bytes, checksum);
    const catalog = this.#decodeHost(bytes, header);
    await slicer.pause();
    const stagedAt = this.#stage(bytes, header);
    for (let at = 0; at < bytes.length; at += COPY_BYTES_PER_STEP) {
      await slicer.pause();
      // A decision never grows memory, but refreshing the view costs nothing when it did not.
      this.#refreshViews();
      this.#bytes.set(bytes.subarray(at, at + COPY_BYTES_PER_STEP), stagedAt + at);
    }
    let status = this.#exports.tg_load_step(CHECK_ROWS_PER_STEP);
    while (status === LOAD_IN_PROGRESS) {
      await slicer.pause();
      status = this.#exports.tg_load_step(CHECK_ROWS_PER_STEP);
    }
    if (status !== LOAD_OK) throw loadError(status);
    this.critical(() => {
      const activated = this.#exports.tg_activate();
      if (activated !== LOAD_OK) throw loadError(activated);
      this.#adopt(header, catalog, stagedAt);
      options.onActivated?.();
    });
  }

  /**
   * Runs the swap of a sliced load and its `onActivated` as one step. Here that is a plain
   * call; the shared evaluator holds its lock, so no other thread decides in between.
   */
  protected critical<T>(work: () => T): T {
    return work();
  }

  /** What the host keeps of a snapshot beside the module: feature keys and seat holders. */
  #decodeHost(bytes: Uint8Array, header: SnapshotHeader): HostCatalog {
    const { features } = decodeCatalog(bytes, header);
    return { features, seats: decodeSeatHolders(bytes, header) };
  }

  /** Reserves the staging region for `bytes` and returns where to copy them. */
  #stage(bytes: Uint8Array, header: SnapshotHeader): number {
    const { customerCount, featureCount, currencyCount } = header;
    return this.#stageCounts(bytes.length, customerCount, featureCount, currencyCount);
  }

  #stageCounts(length: number, customers: number, features: number, currencies: number) {
    const stagedAt = this.#exports.tg_stage(length, customers, features, currencies);
    if (stagedAt === 0) {
      throw new TollgateError('TOLLGATE_ERR_INTERNAL', 'the evaluator is out of memory', {
        detail: `tg_stage refused ${length} bytes`,
      });
    }
    this.#refreshViews();
    return stagedAt;
  }

  /** Switches the host's view to the snapshot the module has just made active. */
  #adopt(header: SnapshotHeader, catalog: HostCatalog, stagedAt: number): void {
    this.#featureIndexByKey = new Map(
      catalog.features.map((feature, index) => [feature.key, index]),
    );
    this.#features = catalog.features;
    this.#seatHolders = catalog.seats;
    this.#customersAt = stagedAt + header.sections.customers;
    this.#snapshotVersion = this.#exports.tg_snapshot_version();
  }

  /**
   * Adopts the snapshot another instance over the same shared memory activated: reads its
   * place from the control block and its host catalog from the bytes in place. The owner
   * verified them before activating, so the header's checksum is taken as computed.
   */
  protected adoptActive(): void {
    this.#refreshViews();
    const control = new DataView(this.#bytes.buffer, this.#exports.tg_control_block(), 16);
    const base = control.getUint32(8, true);
    if (base === 0) return;
    const head = new DataView(this.#bytes.buffer, base, HEADER_SIZE);
    const length = head.getUint32(Header.totalLength, true);
    const bytes = this.#bytes.subarray(base, base + length);
    const header = verifySnapshot(bytes, head.getUint32(Header.checksum, true));
    this.#adopt(header, this.#decodeHost(bytes, header), base);
  }

  holdsSeat(customerId: string, userId: string): boolean {
    return this.#seatHolders.get(customerId)?.has(userId) ?? false;
  }

  nextChangeAtMs(customerId: string): number {
    const handle = this.customerHandle(customerId);
    if (handle < 0) return 0;
    // The record was verified at load (a safe integer), so the i64 converts exactly.
    const view = new DataView(this.#exports.memory.buffer);
    return Number(view.getBigInt64(this.#customersAt + handle * CUSTOMER_RECORD_SIZE + 8, true));
  }

  /** The loaded snapshot's features in index order: key, kind, cost per unit, seat rule. */
  get features(): SnapshotCatalog['features'] {
    return this.#features;
  }

  featureIndex(key: string): number {
    return this.#featureIndexByKey.get(key) ?? -1;
  }

  customerHandle(customerId: string): number {
    this.#refreshViews();
    const length = customerId.length;
    // An id longer than the buffer is longer than any id a snapshot holds.
    if (length > this.#idBytesMax) return -1;
    // Identifiers are ASCII: copying char codes is about twice as fast as TextEncoder
    // on a fresh string, which is most of what a decision by id costs.
    const idBytes = this.#idBytes;
    for (let index = 0; index < length; index++) {
      const code = customerId.charCodeAt(index);
      if (code > 0x7f) return this.#encodedHandle(customerId);
      idBytes[index] = code;
    }
    return this.#exports.tg_customer_handle(length);
  }

  /** The handle of an id with non-ASCII characters, which no identifier has but may be asked. */
  #encodedHandle(customerId: string): number {
    const { read, written } = encoder.encodeInto(customerId, this.#idBytes);
    if (read !== customerId.length) return -1;
    return this.#exports.tg_customer_handle(written);
  }

  check(customerId: string, feature: number, quantity: number, nowMs: number): Decision {
    return this.#decide(Operation.Check, this.customerHandle(customerId), feature, quantity, nowMs);
  }

  checkHandle(handle: number, feature: number, quantity: number, nowMs: number): Decision {
    return this.#decide(Operation.Check, handle, feature, quantity, nowMs);
  }

  consume(customerId: string, feature: number, quantity: number, nowMs: number): Decision {
    const handle = this.customerHandle(customerId);
    return this.#decide(Operation.Consume, handle, feature, quantity, nowMs);
  }

  hold(customerId: string, feature: number, quantity: number, nowMs: number): Decision {
    return this.#decide(Operation.Hold, this.customerHandle(customerId), feature, quantity, nowMs);
  }

  release(customerId: string, feature: number, quantity: number, nowMs: number): void {
    const handle = toIndex(this.customerHandle(customerId));
    this.#exports.tg_release(handle, toIndex(feature), quantity, nowMs);
  }

  settle(customerId: string, feature: number, held: number, actual: number, nowMs: number): number {
    const handle = toIndex(this.customerHandle(customerId));
    return this.#exports.tg_settle(handle, toIndex(feature), held, actual, nowMs);
  }

  record(customerId: string, feature: number, quantity: number, nowMs: number): void {
    const handle = toIndex(this.customerHandle(customerId));
    this.#exports.tg_record(handle, toIndex(feature), quantity, nowMs);
  }

  /**
   * Checks many requests in one call per `tg_batch_capacity()` of them and returns one
   * reason per request (the numbers of `Reason`). Nothing is recorded.
   */
  checkBatch(
    handles: Int32Array,
    features: Int32Array,
    quantities: Float64Array,
    nowMs: number,
    reasons: Uint8Array = new Uint8Array(handles.length),
  ): Uint8Array {
    const exports = this.#exports;
    this.#refreshViews();
    const memory = exports.memory.buffer;
    const handlesIn = new Int32Array(memory, exports.tg_batch_buffer(0), this.#batchCapacity);
    const featuresIn = new Int32Array(memory, exports.tg_batch_buffer(1), this.#batchCapacity);
    const quantitiesIn = new Float64Array(memory, exports.tg_batch_buffer(2), this.#batchCapacity);
    const reasonsOut = new Uint8Array(memory, exports.tg_batch_buffer(3), this.#batchCapacity);
    for (let start = 0; start < handles.length; start += this.#batchCapacity) {
      const end = Math.min(start + this.#batchCapacity, handles.length);
      handlesIn.set(handles.subarray(start, end));
      featuresIn.set(features.subarray(start, end));
      quantitiesIn.set(quantities.subarray(start, end));
      exports.tg_check_batch(end - start, nowMs);
      reasons.set(reasonsOut.subarray(0, end - start), start);
    }
    return reasons;
  }

  #decide(
    op: Operation,
    handle: number,
    feature: number,
    quantity: number,
    nowMs: number,
  ): Decision {
    const reason = this.#exports.tg_decide(op, toIndex(handle), toIndex(feature), quantity, nowMs);
    // A decision never grows memory, so the views taken at the last load are current.
    const ints = this.#resultInts;
    const floats = this.#resultFloats;
    return makeDecision(
      reason as Reason,
      ints[1] as number,
      floats[1] as number,
      floats[2] as number,
      floats[3] as number,
      floats[4] as number,
      floats[5] as number,
      this.#snapshotVersion,
    );
  }

  /** Growing memory detaches the old buffer; views are rebuilt over the new one. */
  #refreshViews(): void {
    const buffer = this.#exports.memory.buffer;
    if (buffer === this.#memoryBuffer) return;
    this.#memoryBuffer = buffer;
    this.#bytes = new Uint8Array(buffer);
    // One byte more than an id may take, so an over-long id is seen as one.
    this.#idBytes = new Uint8Array(buffer, this.#idBufferAt, this.#idBytesMax + 1);
    this.#resultInts = new Int32Array(buffer, this.#resultAt, 2);
    this.#resultFloats = new Float64Array(buffer, this.#resultAt, 6);
  }
}

function tooLarge(length: number): TollgateError {
  return new TollgateError('TOLLGATE_ERR_SNAPSHOT_CORRUPT', 'snapshot corrupt: too large', {
    detail: `${length} bytes, more than a snapshot may hold`,
  });
}

function superseded(): TollgateError {
  return new TollgateError(
    'TOLLGATE_ERR_SNAPSHOT_SUPERSEDED',
    'a newer snapshot load replaced this one before it finished',
  );
}

/** An index the module can take as i32: anything else becomes −1, which means unknown. */
function toIndex(value: number): number {
  return Number.isInteger(value) && value >= 0 && value <= 0x7fff_ffff ? value : -1;
}

/** Reads an AssemblyScript string: UTF-16 code units, byte length just before them. */
function readString(memory: WebAssembly.Memory | undefined, at: number): string {
  if (memory === undefined || at < 4 || at > memory.buffer.byteLength) return '?';
  const byteLength = new DataView(memory.buffer).getUint32(at - 4, true);
  return Buffer.from(memory.buffer, at, byteLength).toString('utf16le');
}
