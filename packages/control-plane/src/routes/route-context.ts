import type { Catalog } from '@tollgate/catalog';
import type { Clock } from '@tollgate/core';
import { TollgateError } from '@tollgate/core';
import { rolloverCustomer } from '../ledger/rollover.js';
import type { SnapshotService } from '../snapshot/snapshot-service.js';
import type { CustomerRow, Store, StoreTransaction } from '../store/store.js';
import type { IngestResult } from '../usage/ingest-usage.js';
import type { UsageEventInput } from '../usage/usage-batch.js';
import type { UsageTimePolicy } from '../usage/usage-time.js';

/** What every route module needs: the catalog, the store, the clock and the snapshots. */
export interface RouteContext {
  catalog: Catalog;
  store: Store;
  clock: Clock;
  snapshots: SnapshotService;
  /** The window of accepted usage event times; `defaultUsageTimePolicy` when absent. */
  usageTime?: UsageTimePolicy;
  /** Runs after a usage batch committed: lease accounting and change notices. */
  afterUsage?: (
    environment: string,
    events: readonly UsageEventInput[],
    result: IngestResult,
  ) => Promise<void>;
}

/**
 * Loads a customer and brings its credits up to `nowMs`, as every read or write that
 * touches a customer must before it looks at balances. 404 when the customer is unknown.
 */
export async function loadCustomer(
  context: RouteContext,
  tx: StoreTransaction,
  customerId: string,
  nowMs: number,
): Promise<CustomerRow> {
  // The lock orders this transaction after any other touching the customer's ledger.
  const customer = await tx.lockCustomer(customerId);
  if (customer === null) {
    throw new TollgateError('TOLLGATE_ERR_NOT_FOUND', `No customer ${customerId}`, {
      field: 'id',
    });
  }
  await rolloverCustomer(tx, context.catalog, customerId, nowMs);
  return customer;
}
