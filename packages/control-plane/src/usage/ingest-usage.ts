import type { Catalog } from '@tollgate/catalog';
import { debitCredits } from '../ledger/debit.js';
import { rolloverCustomer } from '../ledger/rollover.js';
import type { CustomerRow, StoreTransaction } from '../store/store.js';
import type { UsageEventInput } from './usage-batch.js';
import { unknownCustomer } from './usage-batch.js';
import { usagePeriodAt, usageTotalKey } from './usage-period.js';

export interface IngestResult {
  accepted: number;
  duplicates: number;
  /**
   * Per event, in batch order: the usage sequence a snapshot's watermark must reach to
   * include it. A duplicate gets the watermark at ingestion, which is at least its first
   * sequence, so a runtime never counts it as missing from a snapshot that includes it.
   */
  sequences: number[];
  /** Per event, in batch order: true when it was recorded now, false for a duplicate. */
  fresh: boolean[];
}

/**
 * Records a validated batch in the caller's transaction. Every customer is checked before
 * the first write, so an unknown one rejects the whole batch. Each event is deduplicated
 * by (customer, key): a duplicate is counted and writes nothing. Metered usage is added to
 * the period containing the event's time; credits usage is debited at `nowMs`, the instant
 * the control plane learns of it, in the currency's burn order.
 */
export async function ingestUsage(
  tx: StoreTransaction,
  catalog: Catalog,
  events: readonly UsageEventInput[],
  context: { nowMs: number; actor: string },
): Promise<IngestResult> {
  const customers = new Map<string, CustomerRow>();
  // Customers are locked in id order, the order every multi-customer transaction uses.
  const firstIndexes = new Map<string, number>();
  events.forEach((event, index) => {
    if (!firstIndexes.has(event.customer)) firstIndexes.set(event.customer, index);
  });
  for (const [id, index] of [...firstIndexes].sort(([left], [right]) => (left < right ? -1 : 1))) {
    const customer = await tx.lockCustomer(id);
    if (customer === null) throw unknownCustomer(index, id);
    customers.set(id, customer);
  }
  for (const customer of customers.keys()) {
    await rolloverCustomer(tx, catalog, customer, context.nowMs);
  }

  const result: IngestResult = { accepted: 0, duplicates: 0, sequences: [], fresh: [] };
  for (const event of events) {
    if (await tx.hasUsageEvent(event.customer, event.key)) {
      result.duplicates += 1;
      result.sequences.push(await tx.usageWatermark());
      result.fresh.push(false);
      continue;
    }
    const customer = customers.get(event.customer);
    if (customer === undefined) throw new Error('customer was checked above');
    const debit = await recordEvent(tx, catalog, customer, event, context);
    await tx.insertUsageEvent({
      customerId: event.customer,
      key: event.key,
      feature: event.feature.key,
      quantity: event.quantity,
      timeMs: event.timeMs,
      receivedAtMs: context.nowMs,
      creditsDebited: debit.debited,
      creditsShortfall: debit.shortfall,
    });
    // Transactions are serialised, so the highest sequence is the one just inserted.
    result.sequences.push(await tx.usageWatermark());
    result.fresh.push(true);
    result.accepted += 1;
  }
  return result;
}

async function recordEvent(
  tx: StoreTransaction,
  catalog: Catalog,
  customer: CustomerRow,
  event: UsageEventInput,
  context: { nowMs: number; actor: string },
): Promise<{ debited: number; shortfall: number }> {
  const feature = event.feature;
  if (feature.kind === 'metered') {
    const period = await usagePeriodAt(tx, catalog, customer, feature, event.timeMs);
    if (event.quantity > 0)
      await tx.addUsage(usageTotalKey(customer.id, feature, period), event.quantity);
    return { debited: 0, shortfall: 0 };
  }

  const currency = feature.currency === null ? undefined : catalog.currencies.get(feature.currency);
  const cost = event.quantity * feature.cost;
  if (currency === undefined || cost === 0) return { debited: 0, shortfall: 0 };
  // The usage already happened: it is charged as far as the limit allows, never refused.
  const { debit } = await debitCredits(
    tx,
    { customerId: customer.id, currency, amount: cost, mode: 'record' },
    {
      atMs: context.nowMs,
      actor: context.actor,
      reference: `usage:${event.key}`,
      idempotencyKey: event.key,
    },
  );
  return { debited: debit?.debited ?? 0, shortfall: debit?.shortfall ?? 0 };
}
