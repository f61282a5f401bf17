import type { Catalog } from '@tollgate/catalog';
import type { Clock } from '@tollgate/core';
import type { Store } from '../store/store.js';
import { rolloverCustomer } from './rollover.js';

/** Idempotency keys are kept at least this long: 30 days. */
export const idempotencyRetentionMinMs = 30 * 24 * 60 * 60 * 1000;

export interface LedgerJobResult {
  customers: number;
  purgedKeys: number;
}

/**
 * The ledger's background job for one environment: rolls every customer over to now
 * (expiries, recurring grants, capped rollovers) and deletes idempotency keys older than
 * the retention. The rollover is the same function the lazy path runs before any read, so
 * the entries do not depend on which path got there first. One transaction per customer
 * keeps each lock short.
 */
export async function runLedgerJobs(
  context: { catalog: Catalog; store: Store; clock: Clock },
  environment: string,
  idempotencyRetentionMs: number,
): Promise<LedgerJobResult> {
  const nowMs = context.clock();
  const customers = await context.store.transaction(environment, (tx) => tx.listCustomers());
  for (const customer of customers) {
    await context.store.transaction(environment, async (tx) => {
      await tx.lockCustomer(customer.id);
      await rolloverCustomer(tx, context.catalog, customer.id, nowMs);
    });
  }
  const purgedKeys = await context.store.transaction(environment, (tx) =>
    tx.purgeIdempotencyKeys(nowMs - idempotencyRetentionMs),
  );
  return { customers: customers.length, purgedKeys };
}

/**
 * Runs the job every `intervalMs` for each environment, skipping a tick while the previous
 * run is still going. Failures are handed to `onError`; the next tick tries again.
 * Returns a function that stops the schedule.
 */
export function scheduleLedgerJobs(
  context: { catalog: Catalog; store: Store; clock: Clock },
  options: { environments: readonly string[]; intervalMs: number; retentionMs: number },
  onError: (error: unknown) => void,
): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    const runs = options.environments.map((environment) =>
      runLedgerJobs(context, environment, options.retentionMs).catch(onError),
    );
    void Promise.all(runs).finally(() => {
      running = false;
    });
  }, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
