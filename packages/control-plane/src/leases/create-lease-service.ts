import type { Catalog } from '@tollgate/catalog';
import type { Store } from '../store/store.js';
import type { IngestResult } from '../usage/ingest-usage.js';
import type { UsageEventInput } from '../usage/usage-batch.js';
import { MemoryLeaseBook } from './memory-lease-book.js';
import { RedisLeaseBook } from './redis-lease-book.js';
import { LeaseService, defaultLeaseTerms } from './lease-service.js';
import type { LeaseTerms } from './lease-service.js';

export interface LeaseOptions extends Partial<LeaseTerms> {
  /** Keeps lease accounting in Redis, shared by every instance with the same prefix. */
  redisUrl?: string;
  /** Key prefix in Redis; one per deployment (tests use one per run). Default `tollgate`. */
  redisPrefix?: string;
}

export interface LeaseRuntime extends LeaseService {
  /** Counts the fresh, leased events of a committed batch against their leases. */
  recordUsage(
    environment: string,
    events: readonly UsageEventInput[],
    result: IngestResult,
  ): Promise<void>;
}

/** The lease service over the book the options ask for. */
export function createLeaseService(catalog: Catalog, store: Store, options: LeaseOptions) {
  const book =
    options.redisUrl === undefined
      ? new MemoryLeaseBook()
      : new RedisLeaseBook(options.redisUrl, options.redisPrefix ?? 'tollgate');
  const terms = { ...defaultLeaseTerms, ...options };
  const service = new LeaseService(catalog, store, book, terms);
  const recordUsage = async (
    environment: string,
    events: readonly UsageEventInput[],
    result: IngestResult,
  ): Promise<void> => {
    for (const [index, event] of events.entries()) {
      if (event.lease === null || result.fresh[index] !== true) continue;
      const { unitCost } = service.poolOf(event.customer, event.feature);
      await book.recordUsage(environment, event.lease, event.quantity * unitCost);
    }
  };
  return Object.assign(service, { recordUsage }) as LeaseRuntime;
}
