import { TollgateError, featureKindNames, isTollgateError } from '@tollgate/core';
import type { Clock, FeatureKindName } from '@tollgate/core';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  CUSTOMER_RECORD_SIZE,
  checksumInSlices,
  decodeCatalog,
  decodeSnapshot,
  verifySnapshot,
} from '@tollgate/snapshot';
import type { SnapshotCatalog, SnapshotHeader, SnapshotInput } from '@tollgate/snapshot';
import type { Evaluator } from '@tollgate/evaluator';
import type { ControlPlaneClient } from './control-plane-client.js';
import { channelNames, publish } from './diagnostics.js';
import type { CarryLog } from './carry-log.js';
import { applyDelta } from './snapshot-delta.js';
import type { ReservationBook } from './reservations.js';
import type { SharedFigures } from './threads/shared-figures.js';

/** What the runtime needs to know of a feature beyond the evaluator's decisions. */
export interface FeatureTerms {
  kind: FeatureKindName;
  /** Credits one unit costs; 0 for kinds other than credits. */
  costPerUnit: number;
  /** A user without a seat is denied the feature (`no_seat`). */
  requiresSeat: boolean;
}

/** What a runtime's decisions need to know of the snapshot held, beyond the evaluator. */
export interface SnapshotView {
  /** The kind and unit cost of a feature in the loaded snapshot; null when it lacks it. */
  featureTerms(feature: string): FeatureTerms | null;
  /** When the control plane last confirmed the snapshot held is current (epoch ms). */
  readonly confirmedAtMs: number;
  /** The earliest next change of any customer in the snapshot held; Infinity for none. */
  readonly earliestChangeAtMs: number;
  /** Swaps in a newer snapshot; true when one loaded. */
  refresh(): Promise<boolean>;
  /** Awaits a refresh in flight, whatever its outcome. */
  settled(): Promise<void>;
}

/** Worker threads' holds and uses, which a swap must carry over too (`ThreadHub`). */
export interface ThreadCarryOver {
  /** Journals every use and mirrors every hold workers posted so far. */
  drain(): void;
  /** Places workers' live holds again in the snapshot just activated. */
  placeAgain(nowMs: number): void;
}

export interface SnapshotSyncParts {
  runtimeId: string;
  client: ControlPlaneClient;
  evaluator: Evaluator;
  carryLog: CarryLog;
  reservations: ReservationBook;
  clock: Clock;
  /** Fetch only the customers changed since the version held (keeps a decoded copy). */
  deltas: boolean;
  /** Above this many customers no decoded copy is kept, and refreshes fetch in full. */
  deltasMaxCustomers: number;
  /** Where the freshness figures live, so that worker threads read them too. */
  figures: SharedFigures;
  /** Worker threads sharing the evaluator, whose uses and holds are carried over too. */
  threads?: ThreadCarryOver;
}

/**
 * Keeps the evaluator's snapshot current without pausing decisions, and without
 * counting any consumption twice or dropping it. The carry-over rule goes through the
 * snapshot's usage watermark (see `CarryLog`): load the snapshot, record again every
 * local use it does not include, and place every live hold again, all synchronously, so
 * no decision ever sees the snapshot without them.
 *
 * A refresh asks for a delta first (the customers changed since the version held) and
 * falls back to the full snapshot when the control plane cannot diff from that version.
 */
export class SnapshotSync implements SnapshotView {
  readonly #parts: SnapshotSyncParts;
  #inFlight: Promise<boolean> | null = null;
  #featureByKey = new Map<string, FeatureTerms>();
  /** The decoded snapshot held, kept to apply deltas to; null when deltas are off. */
  #base: SnapshotInput | null = null;

  constructor(parts: SnapshotSyncParts) {
    this.#parts = parts;
  }

  /** When the control plane last confirmed the snapshot held is current (epoch ms). */
  get confirmedAtMs(): number {
    return this.#parts.figures.confirmedAtMs;
  }

  set confirmedAtMs(value: number) {
    this.#parts.figures.confirmedAtMs = value;
  }

  /**
   * The earliest next change of any customer in the snapshot held (epoch ms), or
   * `Infinity` when none is due: before it, no entry can be stale, so decisions skip the
   * per-customer lookup.
   */
  get earliestChangeAtMs(): number {
    return this.#parts.figures.earliestChangeAtMs;
  }

  set earliestChangeAtMs(value: number) {
    this.#parts.figures.earliestChangeAtMs = value;
  }

  get refreshing(): boolean {
    return this.#inFlight !== null;
  }

  /** The kind and unit cost of a feature in the loaded snapshot; null when it lacks it. */
  featureTerms(feature: string): FeatureTerms | null {
    return this.#featureByKey.get(feature) ?? null;
  }

  /** Loads the first snapshot. Throws a coded error when there is none to load. */
  async loadFirst(): Promise<void> {
    const fetched = await this.#parts.client.fetchSnapshot(0);
    if (fetched.bytes === null) {
      throw new TollgateError('TOLLGATE_ERR_CONTROL_PLANE', 'the control plane sent no snapshot');
    }
    this.#load(fetched.bytes, this.#verify(fetched.bytes));
    this.confirmedAtMs = this.#parts.clock();
  }

  /** The control plane named the version held as current at `nowMs`. */
  confirm(nowMs: number): void {
    this.confirmedAtMs = Math.max(this.confirmedAtMs, nowMs);
  }

  /** Swaps in a newer snapshot; concurrent calls share one refresh. True when one loaded. */
  refresh(): Promise<boolean> {
    if (this.#inFlight === null) {
      this.#inFlight = this.#refreshOnce().finally(() => {
        this.#inFlight = null;
      });
    }
    return this.#inFlight;
  }

  /** Awaits a refresh in flight, whatever its outcome. */
  async settled(): Promise<void> {
    await this.#inFlight?.catch(() => undefined);
  }

  async #refreshOnce(): Promise<boolean> {
    const { client, evaluator, clock } = this.#parts;
    const startedAtMs = clock();
    const bytes =
      (await this.#fetchDelta()) ?? (await client.fetchSnapshot(evaluator.snapshotVersion)).bytes;
    if (bytes === null) {
      this.confirmedAtMs = startedAtMs;
      return false;
    }
    // The version inside the verified bytes is the truth, whatever the header said.
    const header = await this.#verifyInSlices(bytes);
    if (header.snapshotVersion === evaluator.snapshotVersion) {
      this.confirmedAtMs = startedAtMs;
      return false;
    }
    if (header.snapshotVersion < evaluator.snapshotVersion) {
      this.#refuseOlder(header.snapshotVersion);
    }
    await this.#loadInSteps(bytes, header, startedAtMs);
    return true;
  }

  /**
   * Loads a refreshed snapshot while decisions go on: the checks and the copy run in
   * slices, and the swap, the new feature terms and the carry-over happen in one
   * synchronous step, so no decision sees the new snapshot without the local uses.
   */
  async #loadInSteps(bytes: Uint8Array, header: SnapshotHeader, startedAtMs: number) {
    const { evaluator, runtimeId } = this.#parts;
    const previousVersion = evaluator.snapshotVersion;
    const terms = featureTermsOf(bytes, header);
    const earliestChangeAtMs = await earliestChangeInSlices(bytes, header);
    const base = this.#keepsBase(header) ? decodeSnapshot(bytes) : null;
    try {
      await evaluator.loadInSteps(bytes, {
        checksum: header.checksum,
        onActivated: () => {
          this.#featureByKey = terms;
          this.earliestChangeAtMs = earliestChangeAtMs;
          this.#base = base;
          this.#carryOver(header.usageWatermark);
          this.confirmedAtMs = startedAtMs;
        },
      });
    } catch (cause) {
      throw this.#refused(cause, header.snapshotVersion);
    }
    publish(channelNames.snapshotLoaded, {
      runtimeId,
      version: evaluator.snapshotVersion,
      previousVersion,
      bytes: bytes.byteLength,
    });
  }

  /** Deltas need a decoded copy, which for a large snapshot would pause decisions. */
  #keepsBase(header: SnapshotHeader): boolean {
    return this.#parts.deltas && header.customerCount <= this.#parts.deltasMaxCustomers;
  }

  /** The held snapshot with the changed customers applied, or null to fetch in full. */
  async #fetchDelta(): Promise<Uint8Array | null> {
    const { client, evaluator } = this.#parts;
    if (this.#base === null || evaluator.snapshotVersion === 0) return null;
    const delta = await client.fetchDelta(evaluator.snapshotVersion);
    if (delta === null) return null;
    try {
      return applyDelta(this.#base, delta);
    } catch (cause) {
      throw this.#refused(cause, null);
    }
  }

  #refuseOlder(version: number): never {
    const heldVersion = this.#parts.evaluator.snapshotVersion;
    const error = new TollgateError(
      'TOLLGATE_ERR_SNAPSHOT_OLDER',
      `snapshot version ${version} is older than the version held, ${heldVersion}`,
    );
    publish(channelNames.snapshotRefused, {
      runtimeId: this.#parts.runtimeId,
      version,
      heldVersion,
      error,
    });
    throw error;
  }

  /** Checks the bytes before anything is replaced; a corrupt snapshot is refused. */
  #verify(bytes: Uint8Array): SnapshotHeader {
    try {
      return verifySnapshot(bytes);
    } catch (cause) {
      throw this.#refused(cause, null);
    }
  }

  /** `#verify` with the checksum computed a slice at a time between decisions. */
  async #verifyInSlices(bytes: Uint8Array): Promise<SnapshotHeader> {
    const checksum = await checksumInSlices(bytes, () => nextTurn());
    try {
      // The header's checksum now equals the one computed: the load reuses it.
      return verifySnapshot(bytes, checksum);
    } catch (cause) {
      throw this.#refused(cause, null);
    }
  }

  /** Loads verified bytes; when the evaluator refuses them, the one held keeps serving. */
  #load(bytes: Uint8Array, header: SnapshotHeader): void {
    const { evaluator, runtimeId } = this.#parts;
    const previousVersion = evaluator.snapshotVersion;
    const terms = featureTermsOf(bytes, header);
    try {
      evaluator.load(bytes);
    } catch (cause) {
      throw this.#refused(cause, header.snapshotVersion);
    }
    this.#base = this.#keepsBase(header) ? decodeSnapshot(bytes) : null;
    this.#featureByKey = terms;
    this.earliestChangeAtMs = earliestChangeOf(bytes, header, 0, header.customerCount);
    publish(channelNames.snapshotLoaded, {
      runtimeId,
      version: evaluator.snapshotVersion,
      previousVersion,
      bytes: bytes.byteLength,
    });
  }

  #refused(cause: unknown, version: number | null): TollgateError {
    const error = isTollgateError(cause)
      ? cause
      : new TollgateError('TOLLGATE_ERR_SNAPSHOT_CORRUPT', 'the snapshot failed to load', {
          cause,
        });
    publish(channelNames.snapshotRefused, {
      runtimeId: this.#parts.runtimeId,
      version,
      heldVersion: this.#parts.evaluator.snapshotVersion,
      error,
    });
    return error;
  }

  #carryOver(usageWatermark: number): void {
    const { evaluator, reservations, clock, carryLog, threads } = this.#parts;
    // Workers' uses reach the journal first, so the carry-over below includes them.
    threads?.drain();
    carryLog.carryInto(evaluator, usageWatermark);
    const nowMs = clock();
    reservations.placeAgain(nowMs);
    threads?.placeAgain(nowMs);
  }
}

/** The kind, unit cost and seat rule of every feature of a verified snapshot. */
function featureTermsOf(bytes: Uint8Array, header: SnapshotHeader): Map<string, FeatureTerms> {
  return termsOf(decodeCatalog(bytes, header).features);
}

/** The kind, unit cost and seat rule of each of a snapshot catalog's features, by key. */
export function termsOf(features: SnapshotCatalog['features']): Map<string, FeatureTerms> {
  return new Map(
    features.map((feature) => [
      feature.key,
      {
        kind: featureKindNames[feature.kind - 1]!,
        costPerUnit: feature.costPerUnit,
        requiresSeat: feature.requiresSeat,
      },
    ]),
  );
}

/** Customers whose next change is read between two turns of the event loop. */
const CUSTOMERS_PER_TURN = 65_536;

/** `earliestChangeOf` over every customer, a slice of them per turn of the event loop. */
async function earliestChangeInSlices(bytes: Uint8Array, header: SnapshotHeader) {
  let earliestMs = Infinity;
  for (let from = 0; from < header.customerCount; from += CUSTOMERS_PER_TURN) {
    const to = Math.min(from + CUSTOMERS_PER_TURN, header.customerCount);
    earliestMs = Math.min(earliestMs, earliestChangeOf(bytes, header, from, to));
    if (to < header.customerCount) await nextTurn();
  }
  return earliestMs;
}

/** The smallest non-zero next-change instant of customer records `[from, to)`, or Infinity. */
function earliestChangeOf(bytes: Uint8Array, header: SnapshotHeader, from: number, to: number) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let earliestMs = Infinity;
  for (let index = from; index < to; index++) {
    const at = header.sections.customers + index * CUSTOMER_RECORD_SIZE + 8;
    // Verified on load as a safe integer, so the conversion is exact.
    const changeAtMs = Number(view.getBigInt64(at, true));
    if (changeAtMs !== 0 && changeAtMs < earliestMs) earliestMs = changeAtMs;
  }
  return earliestMs;
}
