import { usagePeriodOf } from '@tollgate/catalog';
import type { AccountState, Catalog, FeatureDefinition, Period } from '@tollgate/catalog';
import { debitCredits } from '../ledger/debit.js';
import { rolloverCustomer } from '../ledger/rollover.js';
import type { NewUsageEvent, StoreTransaction, UsageTotalKey } from '../store/store.js';
import { usageEventId } from '../store/usage-events.js';
import type { UsageEventInput } from './usage-batch.js';
import { unknownCustomer } from './usage-batch.js';
import { periodStateOf, usageTotalKey } from './usage-period.js';

export interface IngestResult {
  accepted: number;
  duplicates: number;
  /**
   * Per event, in batch order: the usage sequence a snapshot's watermark must reach to
   * include it. A duplicate gets the watermark at ingestion, which is at least its first
   * sequence, so a runtime never counts it as missing from a snapshot that includes it.
   * A mismatched event (below) has none.
   */
  sequences: (number | null)[];
  /** Per event, in batch order: true when it was recorded now, false for a duplicate. */
  fresh: boolean[];
  /**
   * The batch positions of events whose key the store holds with another payload (feature,
   * quantity or time): neither recorded nor duplicates; the answer rejects each one.
   */
  mismatched: number[];
}

interface IngestContext {
  nowMs: number;
  actor: string;
}

/**
 * Records a validated batch in the caller's transaction, set by set rather than event by
 * event, since a batch holds thousands of events:
 *
 * 1. lock every customer of the batch in one statement, in id order (an unknown one
 *    rejects the batch before any write);
 * 2. insert every event in one step; the store skips an event whose (customer, key) it
 *    holds already, or that came earlier in the batch, writes nothing more: it is a
 *    duplicate when its payload equals the stored one (a retry), and a mismatch otherwise
 *    (a key reused for another event), which the answer rejects;
 * 3. add metered usage to the period holding each event's time, summed per period, one
 *    write per (customer, feature, period);
 * 4. bring the credits of customers with credits usage up to `nowMs`, then debit that
 *    usage event by event at `nowMs`, the instant the control plane learns of it, in the
 *    currency's burn order, and store what each debit charged.
 */
export async function ingestUsage(
  tx: StoreTransaction,
  catalog: Catalog,
  events: readonly UsageEventInput[],
  context: IngestContext,
): Promise<IngestResult> {
  await lockCustomers(tx, events);
  const inserted = await tx.insertUsageEvents(
    events.map((event) => ({
      customerId: event.customer,
      key: event.key,
      feature: event.feature.key,
      quantity: event.quantity,
      timeMs: event.timeMs,
    })),
    context.nowMs,
  );
  const fresh = events.filter((_event, index) => inserted[index] !== null);
  await addMeteredUsage(tx, catalog, fresh);
  await debitCreditsUsage(tx, catalog, fresh, context);

  const mismatched = await mismatchedEvents(tx, events, inserted);
  const duplicates = events.length - fresh.length - mismatched.length;
  // Only duplicates need the watermark: a fresh event's own sequence is the one to reach.
  const watermark = duplicates === 0 ? 0 : await tx.usageWatermark();
  const rejected = new Set(mismatched);
  return {
    accepted: fresh.length,
    duplicates,
    sequences: inserted.map((sequence, index) =>
      rejected.has(index) ? null : (sequence ?? watermark),
    ),
    fresh: inserted.map((sequence) => sequence !== null),
    mismatched,
  };
}

/**
 * The positions of the events not inserted whose stored payload differs from theirs. The
 * store is read after the insert, so a repeat inside the batch is compared with the event
 * of that key the batch itself recorded.
 */
async function mismatchedEvents(
  tx: StoreTransaction,
  events: readonly UsageEventInput[],
  inserted: readonly (number | null)[],
): Promise<number[]> {
  const repeats = events.filter((_event, index) => inserted[index] === null);
  if (repeats.length === 0) return [];
  const ids = repeats.map((event) => ({ customerId: event.customer, key: event.key }));
  const stored = new Map<string, NewUsageEvent>();
  for (const row of await tx.getUsageEvents(ids)) {
    stored.set(usageEventId(row.customerId, row.key), row);
  }
  const mismatched: number[] = [];
  events.forEach((event, index) => {
    if (inserted[index] !== null) return;
    const first = stored.get(usageEventId(event.customer, event.key));
    if (first === undefined) throw new Error(`usage event ${event.key} was not stored`);
    const same =
      first.feature === event.feature.key &&
      first.quantity === event.quantity &&
      first.timeMs === event.timeMs;
    if (!same) mismatched.push(index);
  });
  return mismatched;
}

/** Locks the batch's customers; an unknown one rejects the batch before any write. */
async function lockCustomers(tx: StoreTransaction, events: readonly UsageEventInput[]) {
  const firstIndexes = new Map<string, number>();
  events.forEach((event, index) => {
    if (!firstIndexes.has(event.customer)) firstIndexes.set(event.customer, index);
  });
  const found = new Set((await tx.lockCustomers([...firstIndexes.keys()])).map((row) => row.id));
  for (const [id, index] of firstIndexes) {
    if (!found.has(id)) throw unknownCustomer(index, id);
  }
}

/**
 * Sums the fresh metered events per (customer, feature, period) and adds each sum once.
 * What the periods depend on is read once for all the batch's customers.
 */
async function addMeteredUsage(
  tx: StoreTransaction,
  catalog: Catalog,
  fresh: readonly UsageEventInput[],
): Promise<void> {
  const metered = fresh.filter((event) => event.feature.kind === 'metered' && event.quantity > 0);
  if (metered.length === 0) return;
  const ids = [...new Set(metered.map((event) => event.customer))];
  const states = new Map<string, AccountState>();
  for (const anchor of await tx.listUsageAnchors(ids)) {
    states.set(anchor.customerId, periodStateOf(anchor));
  }
  const periods = new PeriodCache();
  const totals = new Map<string, { key: UsageTotalKey; quantity: number }>();
  for (const event of metered) {
    const state = states.get(event.customer);
    if (state === undefined) throw new Error(`customer ${event.customer} was locked above`);
    const period = periods.at(catalog, event.feature, state, event.timeMs);
    const key = usageTotalKey(event.customer, event.feature, period);
    const id = `${key.customerId}\u0000${key.feature}\u0000${key.periodStartMs}`;
    const total = totals.get(id);
    // A period total saturates at 2^53 − 1, as the evaluators' arithmetic does, so that
    // it stays exact in storage and on the wire however much usage is reported.
    if (total === undefined) totals.set(id, { key, quantity: event.quantity });
    else total.quantity = Math.min(total.quantity + event.quantity, Number.MAX_SAFE_INTEGER);
  }
  await tx.addUsageTotals([...totals.values()]);
}

/**
 * Charges the fresh credits events one by one, in batch order, after bringing each
 * customer's credits up to `nowMs` (expiries before debits). Metered-only customers are
 * not rolled over: their usage reads no balance.
 */
async function debitCreditsUsage(
  tx: StoreTransaction,
  catalog: Catalog,
  fresh: readonly UsageEventInput[],
  context: IngestContext,
): Promise<void> {
  const charged = fresh.filter((event) => event.feature.kind === 'credits');
  for (const customer of new Set(charged.map((event) => event.customer))) {
    await rolloverCustomer(tx, catalog, customer, context.nowMs);
  }
  for (const event of charged) await debitEvent(tx, catalog, event, context);
}

/**
 * The usage periods found so far, per customer and feature. For one account state a
 * feature's periods partition time (`usagePeriodOf` depends on the event time only
 * through the period it falls in), so an event inside a period already found is in that
 * period, and the time-zone arithmetic runs once per period rather than once per event.
 */
class PeriodCache {
  readonly #found = new Map<string, Period | null>();

  at(catalog: Catalog, feature: FeatureDefinition, state: AccountState, timeMs: number) {
    const id = `${state.customerId}\u0000${feature.key}`;
    const found = this.#found.get(id);
    if (found === null) return null;
    if (found !== undefined && found.startMs <= timeMs && timeMs < found.endMs) return found;
    const period = usagePeriodOf(catalog, feature, state, timeMs);
    this.#found.set(id, period);
    return period;
  }
}

/** Charges one credits event; the usage already happened, so it is never refused. */
async function debitEvent(
  tx: StoreTransaction,
  catalog: Catalog,
  event: UsageEventInput,
  context: IngestContext,
): Promise<void> {
  const feature = event.feature;
  const currency = feature.currency === null ? undefined : catalog.currencies.get(feature.currency);
  const cost = event.quantity * feature.cost;
  if (currency === undefined || cost === 0) return;
  const { debit } = await debitCredits(
    tx,
    { customerId: event.customer, currency, amount: cost, mode: 'record' },
    {
      atMs: context.nowMs,
      actor: context.actor,
      reference: `usage:${event.key}`,
      idempotencyKey: event.key,
    },
  );
  if (debit === null) return;
  await tx.setUsageEventCredits(event.customer, event.key, {
    debited: debit.debited,
    shortfall: debit.shortfall,
  });
}
