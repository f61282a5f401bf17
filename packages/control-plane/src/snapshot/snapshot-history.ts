import { createHash } from 'node:crypto';
import type { SnapshotCustomer } from '@tollgate/snapshot';
import type { SnapshotContent } from './build-snapshot.js';

/** The customers changed since a version, or null when only a full snapshot will do. */
export interface SnapshotDelta {
  version: number;
  createdAtMs: number;
  usageWatermark: number;
  customers: SnapshotCustomer[];
}

interface EnvironmentHistory {
  /** Deltas can start from this version or later: this process saw every change since. */
  sinceVersion: number;
  catalogHash: string;
  customerHashes: Map<string, { hash: string; changedInVersion: number }>;
  latest: { version: number; createdAtMs: number; content: SnapshotContent };
}

/**
 * Remembers, per environment, in which version each customer last changed, so a runtime
 * holding version V can be sent only the customers changed after V. The history lives in
 * this process: a version older than the first one it saw (or older than a catalog
 * change) gets null, and the runtime fetches the full snapshot instead.
 *
 * Versions are a counter shared by every control-plane instance on one store, so this
 * process may not see each one: another instance may have built versions in between. A
 * customer changed in such a version and changed back since looks unchanged here, yet
 * differs from what a runtime holding that version has. The history therefore proves
 * completeness only over versions it saw one after another: a gap starts it afresh, and
 * deltas from before the gap get null.
 */
export class SnapshotHistory {
  readonly #environments = new Map<string, EnvironmentHistory>();

  /** Notes the content served as `version`; called for every version, in order. */
  observe(environment: string, version: number, createdAtMs: number, content: SnapshotContent) {
    const catalogHash = hashOf({ currencies: content.currencies, features: content.features });
    let history = this.#environments.get(environment);
    if (history !== undefined && version <= history.latest.version) return;
    const gap = history !== undefined && version > history.latest.version + 1;
    if (history === undefined || gap || history.catalogHash !== catalogHash) {
      history = { sinceVersion: version, catalogHash, customerHashes: new Map(), latest: null! };
      this.#environments.set(environment, history);
    }
    for (const customer of content.customers) {
      const hash = hashOf(customer);
      const known = history.customerHashes.get(customer.id);
      if (known?.hash !== hash) {
        history.customerHashes.set(customer.id, { hash, changedInVersion: version });
      }
    }
    history.latest = { version, createdAtMs, content };
  }

  /** The customers changed after `sinceVersion`, at the latest version observed. */
  deltaSince(environment: string, sinceVersion: number): SnapshotDelta | null {
    const history = this.#environments.get(environment);
    if (history === undefined || sinceVersion < history.sinceVersion) return null;
    if (sinceVersion > history.latest.version) return null;
    const { content, version, createdAtMs } = history.latest;
    const customers = content.customers.filter(
      (customer) => history.customerHashes.get(customer.id)!.changedInVersion > sinceVersion,
    );
    return { version, createdAtMs, usageWatermark: content.usageWatermark, customers };
  }
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}
