import type { CreditCategory } from '@tollgate/catalog';
import type { AccountTransaction } from './account-store.js';

/**
 * The persistence boundary of the control plane, implemented by SQLite (one process) and
 * PostgreSQL (several control-plane processes sharing one database), which is why every
 * method is asynchronous even though better-sqlite3 is not.
 *
 * A transaction is bound to one environment when it opens: no method takes an
 * environment, so no query can read or write another environment's rows.
 */
export interface Store {
  /**
   * Runs `work` in one atomic transaction: every write commits together or none does.
   * SQLite runs transactions one at a time. PostgreSQL runs them side by side, so work
   * that reads a customer's balance before writing must hold `lockCustomer` first; a
   * transaction that hits a deadlock or a serialization failure is run again from the
   * start, which is why `work` must not have effects outside the transaction.
   */
  transaction<T>(environment: string, work: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface StoreTransaction {
  readonly environment: string;
  /** Time zones, lifecycle, trials, overrides, users and seats (`account-store.ts`). */
  readonly accounts: AccountTransaction;

  /** False when the customer already exists. */
  insertCustomer(customer: CustomerRow): Promise<boolean>;
  getCustomer(id: string): Promise<CustomerRow | null>;
  /**
   * Like `getCustomer`, and holds the customer's row until the transaction ends, so that
   * two transactions touching one customer's ledger run one after the other. Callers
   * locking several customers lock them in id order, which rules out deadlocks.
   */
  lockCustomer(id: string): Promise<CustomerRow | null>;
  /**
   * `lockCustomer` for several customers in one statement, locking in id order as the
   * store sorts ids; returns the customers that exist, in that order.
   */
  lockCustomers(ids: readonly string[]): Promise<CustomerRow[]>;
  /** What the usage periods of the customers depend on, in one read (`UsageAnchorRow`). */
  listUsageAnchors(ids: readonly string[]): Promise<UsageAnchorRow[]>;
  /** Every customer of the environment, ordered by id. */
  listCustomers(): Promise<CustomerRow[]>;

  insertSubscription(subscription: Omit<SubscriptionRow, 'id'>): Promise<SubscriptionRow>;
  /** The customer's current subscription: the latest one created. */
  getSubscription(customerId: string): Promise<SubscriptionRow | null>;

  insertAddonPurchase(purchase: Omit<AddonPurchaseRow, 'id'>): Promise<AddonPurchaseRow>;
  listAddonPurchases(customerId: string): Promise<AddonPurchaseRow[]>;

  /** Throws when `sourceKey` was used before: a grant source is granted exactly once. */
  insertGrant(grant: Omit<GrantRow, 'id'>): Promise<GrantRow>;
  getGrantBySource(sourceKey: string): Promise<GrantRow | null>;
  /**
   * The customer's scheduled grants (source `scheduled:…`) effective by `nowMs` that have no
   * entry yet, neither expired nor voided: the ones the rollover credits now, in time order.
   */
  listDueScheduledGrants(customerId: string, nowMs: number): Promise<GrantRow[]>;
  getGrant(id: number): Promise<GrantRow | null>;
  /** The customer's grants, oldest first. */
  listGrants(customerId: string): Promise<GrantRow[]>;
  /** At most `limit` of the customer's grants with an id above `afterId`, oldest first. */
  listGrantsPage(customerId: string, afterId: number, limit: number): Promise<GrantRow[]>;
  /**
   * The grants a debit or the rollover may still touch, oldest first: neither expired nor
   * voided, and holding credits or due to expire. An emptied grant without an expiry is
   * final, so the ledger's hot path does not read a customer's whole history.
   */
  listOpenGrants(customerId: string): Promise<GrantRow[]>;
  updateGrant(id: number, change: GrantChange): Promise<void>;
  /** The highest period index granted for one recurring grant of a subscription. */
  lastRecurringPeriodIndex(subscriptionId: number, slot: number): Promise<number | null>;

  appendLedgerEntry(entry: Omit<LedgerEntryRow, 'id'>): Promise<number>;
  /** Entries with an id above `afterId`, oldest first. */
  listLedgerEntries(customerId: string, afterId: number, limit: number): Promise<LedgerEntryRow[]>;
  /** The sum of the customer's entries in one currency: what the balance must equal. */
  sumLedgerEntries(customerId: string, currency: string): Promise<number>;
  /**
   * What the customer owes in one currency: the negated sum of the entries that name no
   * grant (overage debits, less the adjustments and refunds that paid them back). A soft
   * balance is its grants' remainders less this debt, so the debt, not the balance, is what
   * the overage cap bounds and what a new grant pays off.
   */
  sumDebt(customerId: string, currency: string): Promise<number>;
  /** A grant's remainder less the sum of the entries that name it: 0 when consistent. */
  grantDrift(grantId: number): Promise<number>;

  insertDebit(debit: Omit<DebitRow, 'id'>): Promise<DebitRow>;
  getDebit(id: number): Promise<DebitRow | null>;
  /**
   * What a debit drew from each grant (`grantId` null for the overage no grant carried)
   * and what refunds have returned to it since, in the order the debit drew.
   */
  listDebitPortions(debitId: number): Promise<DebitPortion[]>;

  /** Adds `delta` to the materialised balance and returns the new balance. */
  addToBalance(customerId: string, currency: string, delta: number): Promise<number>;
  getBalance(customerId: string, currency: string): Promise<number>;

  /** Adds each quantity to its period's total; no key may appear twice in one call. */
  addUsageTotals(totals: readonly { key: UsageTotalKey; quantity: number }[]): Promise<void>;
  getUsage(key: UsageTotalKey): Promise<number>;

  /**
   * Records the events whose (customer, key) is new, in list order, with no round trip per
   * event; their credits start at 0 (`setUsageEventCredits`). An event the store holds
   * already, or that appeared earlier in the list, is a duplicate and writes nothing.
   * Returns each event's sequence; null for a duplicate.
   */
  insertUsageEvents(
    events: readonly NewUsageEvent[],
    receivedAtMs: number,
  ): Promise<(number | null)[]>;
  /**
   * The stored payload of each (customer, key) the store holds, in no set order; a key it
   * does not hold is left out. Used to tell a retry (the same payload) from a reuse.
   */
  getUsageEvents(ids: readonly { customerId: string; key: string }[]): Promise<NewUsageEvent[]>;
  /** Stores what a recorded credits event's debit charged and could not cover. */
  setUsageEventCredits(
    customerId: string,
    key: string,
    credits: { debited: number; shortfall: number },
  ): Promise<void>;
  /** The sequence number of the latest usage event accepted; 0 when there is none. */
  usageWatermark(): Promise<number>;

  /**
   * Claims an idempotency key for a request, or reports why not: the key's first request
   * finished (`done`, with its response) or is still running (`in_flight`). A claim older
   * than `staleBeforeMs` was left by a process that died and is taken over.
   */
  claimIdempotencyKey(claim: IdempotencyClaim): Promise<ClaimOutcome>;
  /** Stores the response under a claim; false when the claim is no longer `token`'s. */
  completeIdempotencyKey(
    scope: string,
    key: string,
    token: string,
    response: StoredResponse,
  ): Promise<boolean>;
  /** Drops an unfinished claim, so that a refused request leaves no trace. */
  releaseIdempotencyKey(scope: string, key: string, token: string): Promise<void>;
  /** Deletes finished keys created before `beforeMs`; returns how many. */
  purgeIdempotencyKeys(beforeMs: number): Promise<number>;

  latestSnapshotVersion(): Promise<SnapshotVersionRow | null>;
  insertSnapshotVersion(row: SnapshotVersionRow): Promise<void>;
}

export interface CustomerRow {
  id: string;
  externalId: string | null;
  createdAtMs: number;
}

/**
 * A customer's creation, declared time zone and current subscription: all that a metered
 * feature's usage period depends on (`usagePeriodOf` in `@tollgate/catalog`).
 */
export interface UsageAnchorRow {
  customerId: string;
  createdAtMs: number;
  timeZone: string | null;
  /** Null, like the fields after it, when the customer has no subscription. */
  plan: string | null;
  planVersion: number | null;
  anchorMs: number | null;
  quantity: number | null;
}

export interface SubscriptionRow {
  id: number;
  customerId: string;
  plan: string;
  planVersion: number;
  /** Billing periods start at the anchor plus whole months. */
  anchorMs: number;
  quantity: number;
  createdAtMs: number;
}

export interface AddonPurchaseRow {
  id: number;
  customerId: string;
  addon: string;
  purchasedAtMs: number;
}

/** A block of credits. `remaining` is materialised from its ledger entries. */
export interface GrantRow {
  id: number;
  customerId: string;
  currency: string;
  category: CreditCategory;
  amount: number;
  remaining: number;
  priority: number;
  effectiveAtMs: number;
  /** Exclusive: the grant is spendable strictly before this instant. Null for never. */
  expiresAtMs: number | null;
  expired: boolean;
  /** Set when the grant's unused part was voided; a voided grant is never spent again. */
  voidedAtMs: number | null;
  /** Total paid, in minor units of `costBasisCurrency`. */
  costBasis: number;
  costBasisCurrency: string;
  /** Unique per environment: `recurring:<subscription>:<slot>:<period>`, `addon:<id>`… */
  sourceKey: string;
  subscriptionId: number | null;
  recurringSlot: number | null;
  periodIndex: number | null;
}

export interface GrantChange {
  remaining: number;
  expired: boolean;
  voidedAtMs?: number | null;
}

export type LedgerEntryKind = 'grant' | 'debit' | 'expiry' | 'void' | 'refund' | 'adjustment';

/** One balance change. Grants and refunds are positive; debits, expiries and voids negative. */
export interface LedgerEntryRow {
  id: number;
  customerId: string;
  currency: string;
  grantId: number | null;
  kind: LedgerEntryKind;
  amount: number;
  /** The debit a `debit` or `refund` entry belongs to; null for other kinds. */
  debitId: number | null;
  atMs: number;
  /** The API key id, `runtime` or `job`. */
  actor: string;
  reference: string | null;
  idempotencyKey: string | null;
  /** Why an operator made an `adjustment`; null for every other entry. */
  reason: string | null;
}

export interface UsageTotalKey {
  customerId: string;
  feature: string;
  periodStartMs: number;
  periodEndMs: number;
}

/** What a usage event brings; the store adds when it arrived and what it debited. */
export type NewUsageEvent = Pick<
  UsageEventRow,
  'customerId' | 'key' | 'feature' | 'quantity' | 'timeMs'
>;

export interface UsageEventRow {
  customerId: string;
  key: string;
  feature: string;
  quantity: number;
  timeMs: number;
  receivedAtMs: number;
  /** Credits debited for the event; 0 for metered features. */
  creditsDebited: number;
  /** Credits the hard balance could not cover when runtimes raced. */
  creditsShortfall: number;
}

/**
 * One debit operation, split into entries across grants. `overage` is what a soft
 * balance went below zero; `shortfall` what a hard balance could not cover when usage
 * had already happened (a settle above its hold, runtimes racing).
 */
export interface DebitRow {
  id: number;
  customerId: string;
  currency: string;
  requested: number;
  debited: number;
  overage: number;
  shortfall: number;
  atMs: number;
  actor: string;
  reference: string | null;
  idempotencyKey: string | null;
}

export interface DebitPortion {
  grantId: number | null;
  drawn: number;
  refunded: number;
}

export interface StoredResponse {
  status: number;
  body: unknown;
}

export interface IdempotencyClaim {
  scope: string;
  key: string;
  requestHash: string;
  /** Unique per request: only the claimant completes or releases the claim. */
  token: string;
  nowMs: number;
  staleBeforeMs: number;
}

export type ClaimOutcome =
  | { state: 'claimed' }
  | { state: 'done'; requestHash: string; response: StoredResponse }
  | { state: 'in_flight'; requestHash: string };

export interface SnapshotVersionRow {
  version: number;
  contentHash: string;
  createdAtMs: number;
}
