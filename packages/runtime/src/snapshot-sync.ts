import { TollgateError, featureKindNames, isTollgateError } from '@tollgate/core';
import type { Clock, FeatureKindName } from '@tollgate/core';
import { decodeCatalog, verifySnapshot } from '@tollgate/snapshot';
import type { SnapshotHeader } from '@tollgate/snapshot';
import type { Evaluator } from '@tollgate/evaluator';
import type { ControlPlaneClient } from './control-plane-client.js';
import { channelNames, publish } from './diagnostics.js';
import type { ReservationBook } from './reservations.js';
import type { UsageBatcher } from './usage-batcher.js';

/** What the runtime needs to know of a feature beyond the evaluator's decisions. */
export interface FeatureTerms {
  kind: FeatureKindName;
  /** Credits one unit costs; 0 for kinds other than credits. */
  costPerUnit: number;
}

/** A consumption recorded locally while a refresh was in progress. */
interface JournalEntry {
  customer: string;
  feature: string;
  quantity: number;
  timeMs: number;
}

export interface SnapshotSyncParts {
  runtimeId: string;
  client: ControlPlaneClient;
  evaluator: Evaluator;
  batcher: UsageBatcher;
  reservations: ReservationBook;
  clock: Clock;
  /** The sequence number of the last usage event recorded. */
  lastSeq: () => number;
}

/**
 * Keeps the evaluator's snapshot current without pausing decisions, and without
 * counting any consumption twice or dropping it. The carry-over rule:
 *
 * 1. Note the sequence number of the last recorded usage event: the cut.
 * 2. Deliver every event up to the cut and await its acknowledgement, holding back
 *    events recorded after the cut, so the control plane has exactly the prefix.
 * 3. Fetch the snapshot; it includes every acknowledged event.
 * 4. Load it, then record again every consumption made after the cut (they were
 *    journaled while steps 2 and 3 ran) and place every live hold again.
 *
 * Steps 4 run synchronously, so no decision ever sees the snapshot without them.
 */
export class SnapshotSync {
  readonly #parts: SnapshotSyncParts;
  #journal: JournalEntry[] | null = null;
  #inFlight: Promise<boolean> | null = null;
  #featureByKey = new Map<string, FeatureTerms>();

  constructor(parts: SnapshotSyncParts) {
    this.#parts = parts;
  }

  get refreshing(): boolean {
    return this.#inFlight !== null;
  }

  /** The kind and unit cost of a feature in the loaded snapshot; null when it lacks it. */
  featureTerms(feature: string): FeatureTerms | null {
    return this.#featureByKey.get(feature) ?? null;
  }

  /** Notes a consumption that the snapshot being fetched will not include. */
  journal(customer: string, feature: string, quantity: number, timeMs: number): void {
    this.#journal?.push({ customer, feature, quantity, timeMs });
  }

  /** Loads the first snapshot. Throws a coded error when there is none to load. */
  async loadFirst(): Promise<void> {
    const fetched = await this.#parts.client.fetchSnapshot(0);
    if (fetched.bytes === null) {
      throw new TollgateError('TOLLGATE_ERR_CONTROL_PLANE', 'the control plane sent no snapshot');
    }
    this.#load(fetched.bytes, this.#verify(fetched.bytes));
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
    const { batcher, client, evaluator } = this.#parts;
    const cutSeq = this.#parts.lastSeq();
    this.#journal = [];
    batcher.limitTo(cutSeq);
    try {
      await batcher.flush(cutSeq);
      const fetched = await client.fetchSnapshot(evaluator.snapshotVersion);
      if (fetched.bytes === null) return false;
      // The version inside the verified bytes is the truth, whatever the header said.
      const header = this.#verify(fetched.bytes);
      if (header.snapshotVersion === evaluator.snapshotVersion) return false;
      if (header.snapshotVersion < evaluator.snapshotVersion) {
        this.#refuseOlder(header.snapshotVersion);
      }
      const journal = this.#journal;
      this.#load(fetched.bytes, header);
      this.#carryOver(journal);
      return true;
    } finally {
      this.#journal = null;
      batcher.limitTo(null);
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

  /** Loads verified bytes; when the evaluator refuses them, the one held keeps serving. */
  #load(bytes: Uint8Array, header: SnapshotHeader): void {
    const { evaluator, runtimeId } = this.#parts;
    const previousVersion = evaluator.snapshotVersion;
    const { features } = decodeCatalog(bytes, header);
    try {
      evaluator.load(bytes);
    } catch (cause) {
      throw this.#refused(cause, header.snapshotVersion);
    }
    this.#featureByKey = new Map(
      features.map((feature) => [
        feature.key,
        { kind: featureKindNames[feature.kind - 1]!, costPerUnit: feature.costPerUnit },
      ]),
    );
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

  #carryOver(journal: JournalEntry[] | null): void {
    const { evaluator, reservations, clock } = this.#parts;
    for (const entry of journal ?? []) {
      const index = evaluator.featureIndex(entry.feature);
      if (index >= 0) evaluator.record(entry.customer, index, entry.quantity, entry.timeMs);
    }
    reservations.placeAgain(clock());
  }
}
