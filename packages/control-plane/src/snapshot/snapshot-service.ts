import { createHash } from 'node:crypto';
import type { Catalog } from '@tollgate/catalog';
import type { Clock } from '@tollgate/core';
import { encodeSnapshot } from '@tollgate/snapshot';
import type { Store } from '../store/store.js';
import { buildSnapshotContent } from './build-snapshot.js';
import { SnapshotHistory } from './snapshot-history.js';
import type { SnapshotDelta } from './snapshot-history.js';

export interface ServedSnapshot {
  version: number;
  bytes: Uint8Array;
}

/**
 * Serves the current snapshot of an environment. The content is rebuilt at the clock's
 * now on every request, so that time passing (a period end, a grant expiry) is seen
 * without a write. The version is a stored counter that moves only when the content's
 * hash differs from the last version's, and the encoded bytes are cached by version.
 */
export class SnapshotService {
  readonly #catalog: Catalog;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #bytesByEnvironment = new Map<string, ServedSnapshot>();
  readonly #history = new SnapshotHistory();

  constructor(catalog: Catalog, store: Store, clock: Clock) {
    this.#catalog = catalog;
    this.#store = store;
    this.#clock = clock;
  }

  async current(environment: string): Promise<ServedSnapshot> {
    const nowMs = this.#clock();
    const { content, latest, version } = await this.#store.transaction(environment, async (tx) => {
      const content = await buildSnapshotContent(tx, this.#catalog, nowMs);
      const contentHash = createHash('sha256').update(JSON.stringify(content)).digest('hex');
      const latest = await tx.latestSnapshotVersion();
      if (latest !== null && latest.contentHash === contentHash) {
        return { content, latest, version: latest.version };
      }
      const version = (latest?.version ?? 0) + 1;
      await tx.insertSnapshotVersion({ version, contentHash, createdAtMs: nowMs });
      return { content, latest: { version, createdAtMs: nowMs }, version };
    });

    this.#history.observe(environment, version, latest.createdAtMs, content);
    const cached = this.#bytesByEnvironment.get(environment);
    if (cached !== undefined && cached.version === version) return cached;
    const bytes = encodeSnapshot({
      ...content,
      snapshotVersion: version,
      createdAtMs: latest.createdAtMs,
    });
    const served = { version, bytes };
    this.#bytesByEnvironment.set(environment, served);
    return served;
  }

  /**
   * The customers changed since `sinceVersion`, at the current version; null when this
   * process cannot tell (the runtime then fetches the full snapshot).
   */
  async delta(environment: string, sinceVersion: number): Promise<SnapshotDelta | null> {
    await this.current(environment);
    return this.#history.deltaSince(environment, sinceVersion);
  }
}
