import type { CreditCategory } from '@tollgate/catalog';

/**
 * The persistence boundary of the control plane. SQLite implements it today; PostgreSQL
 * will implement it when several control-plane instances serve one fleet, which is why
 * every method is asynchronous even though better-sqlite3 is not.
 *
 * A transaction is bound to one environment when it opens: no method takes an
 * environment, so no query can read or write another environment's rows.
 */
export interface Store {
  /**
   * Runs `work` in one atomic transaction: every write commits together or none does.
   * Transactions never interleave, so a read inside one sees no concurrent write.
   */
  transaction<T>(environment: string, work: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface StoreTransaction {
  readonly environment: string;

  /** False when the customer already exists. */
  insertCustomer(customer: CustomerRow): Promise<boolean>;
  getCustomer(id: string): Promise<CustomerRow | null>;
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
  /** The customer's grants, oldest first. */
  listGrants(customerId: string): Promise<GrantRow[]>;
  updateGrant(id: number, change: { remaining: number; expired: boolean }): Promise<void>;
  /** The highest period index granted for one recurring grant of a subscription. */
  lastRecurringPeriodIndex(subscriptionId: number, slot: number): Promise<number | null>;

  appendLedgerEntry(entry: Omit<LedgerEntryRow, 'id'>): Promise<number>;
  /** Entries with an id above `afterId`, oldest first. */
  listLedgerEntries(customerId: string, afterId: number, limit: number): Promise<LedgerEntryRow[]>;

  /** Adds `delta` to the materialised balance and returns the new balance. */
  addToBalance(customerId: string, currency: string, delta: number): Promise<number>;
  getBalance(customerId: string, currency: string): Promise<number>;

  addUsage(key: UsageTotalKey, quantity: number): Promise<void>;
  getUsage(key: UsageTotalKey): Promise<number>;

  /** True when (customer, key) was recorded before: the event is a duplicate. */
  hasUsageEvent(customerId: string, key: string): Promise<boolean>;
  insertUsageEvent(event: UsageEventRow): Promise<void>;
  /** The sequence number of the latest usage event accepted; 0 when there is none. */
  usageWatermark(): Promise<number>;

  getIdempotentResponse(scope: string, key: string): Promise<IdempotentResponse | null>;
  saveIdempotentResponse(scope: string, key: string, response: IdempotentResponse): Promise<void>;

  latestSnapshotVersion(): Promise<SnapshotVersionRow | null>;
  insertSnapshotVersion(row: SnapshotVersionRow): Promise<void>;
}

export interface CustomerRow {
  id: string;
  externalId: string | null;
  createdAtMs: number;
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
  /** Total paid, in minor units of `costBasisCurrency`. */
  costBasis: number;
  costBasisCurrency: string;
  /** Unique per environment: `recurring:<subscription>:<slot>:<period>`, `addon:<id>`… */
  sourceKey: string;
  subscriptionId: number | null;
  recurringSlot: number | null;
  periodIndex: number | null;
}

export type LedgerEntryKind = 'grant' | 'debit' | 'expiry' | 'adjustment';

/** One balance change. Grants are positive; debits and expiries negative. */
export interface LedgerEntryRow {
  id: number;
  customerId: string;
  currency: string;
  grantId: number | null;
  kind: LedgerEntryKind;
  amount: number;
  atMs: number;
  /** The API key id, `runtime` or `job`. */
  actor: string;
  reference: string | null;
  idempotencyKey: string | null;
}

export interface UsageTotalKey {
  customerId: string;
  feature: string;
  periodStartMs: number;
  periodEndMs: number;
}

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

export interface IdempotentResponse {
  requestHash: string;
  status: number;
  body: unknown;
}

export interface SnapshotVersionRow {
  version: number;
  contentHash: string;
  createdAtMs: number;
}
