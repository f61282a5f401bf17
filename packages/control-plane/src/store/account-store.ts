import type { CombineRule } from '@tollgate/catalog';

/**
 * The entitlement side of a customer's account (issue #3): time zone, subscription
 * lifecycle instants, trials, overrides, users and seats. Reached from a transaction as
 * `tx.accounts`, so that these reads and writes commit with the rest of the transaction.
 *
 * Lifecycle states are stored as instants, never as a status a job must update:
 * resolution compares them with `now`.
 */
export interface AccountTransaction {
  getTimeZone(customerId: string): Promise<string | null>;
  setTimeZone(customerId: string, timeZone: string | null): Promise<void>;

  getLifecycle(subscriptionId: number): Promise<LifecycleRow>;
  /** Sets the lifecycle instants and records the new state as in force from `nowMs`. */
  setLifecycle(subscriptionId: number, lifecycle: LifecycleRow, nowMs: number): Promise<void>;
  /**
   * Changes plan, version and quantity (the anchor and the usage stay) and records the
   * new state as in force from `nowMs`; the state before stays in the history.
   */
  changeSubscription(
    subscriptionId: number,
    change: { plan: string; planVersion: number; quantity: number },
    nowMs: number,
  ): Promise<void>;
  /**
   * The state in force at `atMs` from the subscription's history: the last change at or
   * before it, or the state from creation for an instant before the first change. Null
   * when the subscription never changed (its current state is then its only one).
   */
  getSubscriptionStateAt(
    subscriptionId: number,
    atMs: number,
  ): Promise<SubscriptionStateRow | null>;
  /**
   * Every plan version a subscription of the environment pins now or pinned before, or a
   * trial grants, by plan then version.
   */
  listPinnedVersions(): Promise<{ plan: string; planVersion: number }[]>;
  /** Ids of the current subscriptions pinned to one plan version, by customer id. */
  listSubscriptionsOn(
    plan: string,
    planVersion: number,
  ): Promise<{ id: number; customerId: string }[]>;

  insertTrial(trial: Omit<TrialRow, 'id'>): Promise<TrialRow>;
  /** Every trial of the customer, by start. */
  listTrials(customerId: string): Promise<TrialRow[]>;
  /** The customer's latest trial. */
  getTrial(customerId: string): Promise<TrialRow | null>;
  setTrialEnd(id: number, endsAtMs: number): Promise<void>;

  insertOverride(override: Omit<OverrideRow, 'id'>): Promise<OverrideRow>;
  listOverrides(customerId: string): Promise<OverrideRow[]>;
  /** Ends an override at `endsAtMs`; false when it is not the customer's. */
  endOverride(customerId: string, id: number, endsAtMs: number): Promise<boolean>;

  /** The account a user belongs to; null for a user never seen. */
  getUserAccount(userId: string): Promise<string | null>;
  insertUser(userId: string, customerId: string, nowMs: number): Promise<void>;
  /** Users with a live seat assignment on the account, in the order they were assigned. */
  listSeatHolders(customerId: string): Promise<string[]>;
  /** Every seat holder of the environment, by customer then user. */
  listAllSeatHolders(): Promise<{ customerId: string; userId: string }[]>;
  /** False when the user holds a seat already: a seat is counted once per user. */
  assignSeat(customerId: string, userId: string, nowMs: number): Promise<boolean>;
  /** False when the user held no seat. */
  releaseSeat(customerId: string, userId: string, nowMs: number): Promise<boolean>;

  /**
   * Records a plan version's content hash the first time the environment sees it, and
   * returns what was recorded first: the caller refuses a catalog whose published
   * version no longer hashes the same.
   */
  recordPlanVersion(
    plan: string,
    version: number,
    contentHash: string,
    nowMs: number,
  ): Promise<{ contentHash: string; firstSeenAtMs: number }>;
}

export interface LifecycleRow {
  pastDueSinceMs: number | null;
  pausedAtMs: number | null;
  cancelAtMs: number | null;
  /**
   * Recurring grants start again from the period holding this instant, granted no earlier
   * than it: set by a resume and a plan change, so that neither back-dates a grant.
   */
  recurringFromMs: number | null;
}

/** A subscription's state in force from one change on. */
export interface SubscriptionStateRow extends LifecycleRow {
  plan: string;
  planVersion: number;
  quantity: number;
}

export interface TrialRow {
  id: number;
  customerId: string;
  trial: string;
  plan: string;
  planVersion: number;
  startsAtMs: number;
  endsAtMs: number;
}

export interface OverrideRow {
  id: number;
  customerId: string;
  feature: string;
  access: boolean;
  /** Null for unlimited. */
  limit: number | null;
  rule: CombineRule;
  startsAtMs: number | null;
  endsAtMs: number | null;
  reference: string | null;
  createdAtMs: number;
}
