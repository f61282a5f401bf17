import type { CombineRule } from '@tollgate/catalog';
import type {
  AccountTransaction,
  LifecycleRow,
  OverrideRow,
  SubscriptionStateRow,
  TrialRow,
} from './account-store.js';

/**
 * Runs one statement in the open transaction: `?` placeholders, camelCase aliases. The
 * SQLite and PostgreSQL stores each supply one, so both run the same SQL below.
 */
export type SqlRunner = (
  source: string,
  parameters: unknown[],
) => Promise<{ rows: Record<string, unknown>[]; changes: number }>;

const overrideColumns = `id, customer_id AS customerId, feature, access, limit_value AS "limit",
  rule, starts_at_ms AS startsAtMs, ends_at_ms AS endsAtMs, reference,
  created_at_ms AS createdAtMs`;
const trialColumns = `id, customer_id AS customerId, trial, plan, plan_version AS planVersion,
  starts_at_ms AS startsAtMs, ends_at_ms AS endsAtMs`;

const historyColumns = `plan, plan_version AS planVersion, quantity,
  past_due_since_ms AS pastDueSinceMs, paused_at_ms AS pausedAtMs, cancel_at_ms AS cancelAtMs`;

type StoredOverride = Omit<OverrideRow, 'access'> & { access: number };

/** The entitlement tables of one open transaction, bound to its environment. */
export class SqlAccounts implements AccountTransaction {
  readonly #run: SqlRunner;
  readonly #environment: string;

  constructor(run: SqlRunner, environment: string) {
    this.#run = run;
    this.#environment = environment;
  }

  async getTimeZone(customerId: string): Promise<string | null> {
    const row = await this.#one<{ timeZone: string | null }>(
      `SELECT time_zone AS timeZone FROM customer_settings
       WHERE environment = ? AND customer_id = ?`,
      customerId,
    );
    return row?.timeZone ?? null;
  }

  async setTimeZone(customerId: string, timeZone: string | null): Promise<void> {
    await this.#write(
      `INSERT INTO customer_settings (environment, customer_id, time_zone) VALUES (?, ?, ?)
       ON CONFLICT (environment, customer_id) DO UPDATE SET time_zone = excluded.time_zone`,
      this.#environment,
      customerId,
      timeZone,
    );
  }

  async getLifecycle(subscriptionId: number): Promise<LifecycleRow> {
    const row = await this.#one<LifecycleRow>(
      `SELECT past_due_since_ms AS pastDueSinceMs, paused_at_ms AS pausedAtMs,
       cancel_at_ms AS cancelAtMs, recurring_from_ms AS recurringFromMs
       FROM subscription_lifecycle
       WHERE environment = ? AND subscription_id = ?`,
      subscriptionId,
    );
    return (
      row ?? { pastDueSinceMs: null, pausedAtMs: null, cancelAtMs: null, recurringFromMs: null }
    );
  }

  async setLifecycle(
    subscriptionId: number,
    lifecycle: LifecycleRow,
    nowMs: number,
  ): Promise<void> {
    await this.#keepFirstState(subscriptionId);
    await this.#write(
      `INSERT INTO subscription_lifecycle (environment, subscription_id, past_due_since_ms,
       paused_at_ms, cancel_at_ms, recurring_from_ms) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (environment, subscription_id) DO UPDATE
       SET past_due_since_ms = excluded.past_due_since_ms,
       paused_at_ms = excluded.paused_at_ms, cancel_at_ms = excluded.cancel_at_ms,
       recurring_from_ms = excluded.recurring_from_ms`,
      this.#environment,
      subscriptionId,
      lifecycle.pastDueSinceMs,
      lifecycle.pausedAtMs,
      lifecycle.cancelAtMs,
      lifecycle.recurringFromMs,
    );
    await this.#recordState(subscriptionId, nowMs);
  }

  async changeSubscription(
    subscriptionId: number,
    change: { plan: string; planVersion: number; quantity: number },
    nowMs: number,
  ): Promise<void> {
    await this.#keepFirstState(subscriptionId);
    const changes = await this.#write(
      `UPDATE subscriptions SET plan = ?, plan_version = ?, quantity = ?
       WHERE environment = ? AND id = ?`,
      change.plan,
      change.planVersion,
      change.quantity,
      this.#environment,
      subscriptionId,
    );
    if (changes !== 1) throw new Error(`subscription ${subscriptionId} not found`);
    await this.#recordState(subscriptionId, nowMs);
  }

  async getSubscriptionStateAt(
    subscriptionId: number,
    atMs: number,
  ): Promise<SubscriptionStateRow | null> {
    // The row in force at the instant, or the first row for an instant before every change.
    const inForce = await this.#one<SubscriptionStateRow>(
      `SELECT ${historyColumns} FROM subscription_history
       WHERE environment = ? AND subscription_id = ? AND effective_at_ms <= ?
       ORDER BY effective_at_ms DESC, id DESC LIMIT 1`,
      subscriptionId,
      atMs,
    );
    if (inForce !== null) return inForce;
    return await this.#one<SubscriptionStateRow>(
      `SELECT ${historyColumns} FROM subscription_history
       WHERE environment = ? AND subscription_id = ? ORDER BY effective_at_ms, id LIMIT 1`,
      subscriptionId,
    );
  }

  async listPinnedVersions(): Promise<{ plan: string; planVersion: number }[]> {
    const rows = await this.#all<{ plan: string; planVersion: number }>(
      `SELECT DISTINCT plan, plan_version AS planVersion FROM (
         SELECT plan, plan_version FROM subscriptions WHERE environment = ?
         UNION SELECT plan, plan_version FROM subscription_history WHERE environment = ?
         UNION SELECT plan, plan_version FROM trials WHERE environment = ?
       ) pinned ORDER BY 1, 2`,
      this.#environment,
      this.#environment,
    );
    return rows.map((row) => ({ plan: row.plan, planVersion: Number(row.planVersion) }));
  }

  /**
   * Records the state a subscription had before its first change, from its creation, so
   * that instants before the change still resolve from it.
   */
  async #keepFirstState(subscriptionId: number): Promise<void> {
    await this.#write(
      `INSERT INTO subscription_history (environment, subscription_id, effective_at_ms, plan,
       plan_version, quantity, past_due_since_ms, paused_at_ms, cancel_at_ms)
       SELECT s.environment, s.id, s.created_at_ms, s.plan, s.plan_version, s.quantity,
       l.past_due_since_ms, l.paused_at_ms, l.cancel_at_ms
       FROM subscriptions s LEFT JOIN subscription_lifecycle l
       ON l.environment = s.environment AND l.subscription_id = s.id
       WHERE s.environment = ? AND s.id = ? AND NOT EXISTS (
         SELECT 1 FROM subscription_history h
         WHERE h.environment = s.environment AND h.subscription_id = s.id)`,
      this.#environment,
      subscriptionId,
    );
  }

  /** Appends the subscription's current state as the one in force from `nowMs`. */
  async #recordState(subscriptionId: number, nowMs: number): Promise<void> {
    await this.#write(
      `INSERT INTO subscription_history (environment, subscription_id, effective_at_ms, plan,
       plan_version, quantity, past_due_since_ms, paused_at_ms, cancel_at_ms)
       SELECT s.environment, s.id, ?, s.plan, s.plan_version, s.quantity,
       l.past_due_since_ms, l.paused_at_ms, l.cancel_at_ms
       FROM subscriptions s LEFT JOIN subscription_lifecycle l
       ON l.environment = s.environment AND l.subscription_id = s.id
       WHERE s.environment = ? AND s.id = ?`,
      nowMs,
      this.#environment,
      subscriptionId,
    );
  }

  async listSubscriptionsOn(plan: string, planVersion: number) {
    // Only each customer's current (latest) subscription counts.
    return await this.#all<{ id: number; customerId: string }>(
      `SELECT s.id, s.customer_id AS customerId FROM subscriptions s
       WHERE s.environment = ? AND s.plan = ? AND s.plan_version = ? AND s.id = (
         SELECT max(id) FROM subscriptions l
         WHERE l.environment = s.environment AND l.customer_id = s.customer_id)
       ORDER BY s.customer_id`,
      plan,
      planVersion,
    );
  }

  async insertTrial(trial: Omit<TrialRow, 'id'>): Promise<TrialRow> {
    const id = await this.#insert(
      `INSERT INTO trials (environment, customer_id, trial, plan, plan_version, starts_at_ms,
       ends_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      trial.customerId,
      trial.trial,
      trial.plan,
      trial.planVersion,
      trial.startsAtMs,
      trial.endsAtMs,
    );
    return { id, ...trial };
  }

  async listTrials(customerId: string): Promise<TrialRow[]> {
    return await this.#all<TrialRow>(
      `SELECT ${trialColumns} FROM trials WHERE environment = ? AND customer_id = ?
       ORDER BY starts_at_ms, id`,
      customerId,
    );
  }

  async getTrial(customerId: string): Promise<TrialRow | null> {
    return await this.#one<TrialRow>(
      `SELECT ${trialColumns} FROM trials WHERE environment = ? AND customer_id = ?
       ORDER BY id DESC LIMIT 1`,
      customerId,
    );
  }

  async setTrialEnd(id: number, endsAtMs: number): Promise<void> {
    await this.#write(
      'UPDATE trials SET ends_at_ms = ? WHERE environment = ? AND id = ?',
      endsAtMs,
      this.#environment,
      id,
    );
  }

  async insertOverride(override: Omit<OverrideRow, 'id'>): Promise<OverrideRow> {
    const id = await this.#insert(
      `INSERT INTO overrides (environment, customer_id, feature, access, limit_value, rule,
       starts_at_ms, ends_at_ms, reference, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      override.customerId,
      override.feature,
      override.access ? 1 : 0,
      override.limit,
      override.rule,
      override.startsAtMs,
      override.endsAtMs,
      override.reference,
      override.createdAtMs,
    );
    return { id, ...override };
  }

  async listOverrides(customerId: string): Promise<OverrideRow[]> {
    const rows = await this.#all<StoredOverride>(
      `SELECT ${overrideColumns} FROM overrides WHERE environment = ? AND customer_id = ?
       ORDER BY id`,
      customerId,
    );
    return rows.map((row) => ({ ...row, access: row.access === 1, rule: row.rule as CombineRule }));
  }

  async endOverride(customerId: string, id: number, endsAtMs: number): Promise<boolean> {
    const changes = await this.#write(
      `UPDATE overrides SET ends_at_ms = ? WHERE environment = ? AND id = ? AND customer_id = ?`,
      endsAtMs,
      this.#environment,
      id,
      customerId,
    );
    return changes === 1;
  }

  async getUserAccount(userId: string): Promise<string | null> {
    const row = await this.#one<{ customerId: string }>(
      'SELECT customer_id AS customerId FROM users WHERE environment = ? AND id = ?',
      userId,
    );
    return row?.customerId ?? null;
  }

  async insertUser(userId: string, customerId: string, nowMs: number): Promise<void> {
    await this.#write(
      'INSERT INTO users (environment, id, customer_id, created_at_ms) VALUES (?, ?, ?, ?)',
      this.#environment,
      userId,
      customerId,
      nowMs,
    );
  }

  async listSeatHolders(customerId: string): Promise<string[]> {
    const rows = await this.#all<{ userId: string }>(
      `SELECT user_id AS userId FROM seat_assignments WHERE environment = ? AND customer_id = ?
       AND released_at_ms IS NULL ORDER BY id`,
      customerId,
    );
    return rows.map((row) => row.userId);
  }

  async listAllSeatHolders(): Promise<{ customerId: string; userId: string }[]> {
    return await this.#all(
      `SELECT customer_id AS customerId, user_id AS userId FROM seat_assignments
       WHERE environment = ? AND released_at_ms IS NULL ORDER BY customer_id, user_id`,
    );
  }

  async assignSeat(customerId: string, userId: string, nowMs: number): Promise<boolean> {
    const changes = await this.#write(
      `INSERT INTO seat_assignments (environment, customer_id, user_id, assigned_at_ms)
       VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      this.#environment,
      customerId,
      userId,
      nowMs,
    );
    return changes === 1;
  }

  async releaseSeat(customerId: string, userId: string, nowMs: number): Promise<boolean> {
    const changes = await this.#write(
      `UPDATE seat_assignments SET released_at_ms = ? WHERE environment = ? AND user_id = ?
       AND customer_id = ? AND released_at_ms IS NULL`,
      nowMs,
      this.#environment,
      userId,
      customerId,
    );
    return changes === 1;
  }

  /** Runs a query whose first parameter is the environment, returning one row or null. */
  async recordPlanVersion(
    plan: string,
    version: number,
    contentHash: string,
    nowMs: number,
  ): Promise<{ contentHash: string; firstSeenAtMs: number }> {
    await this.#write(
      `INSERT INTO published_plan_versions
       (environment, plan, version, content_hash, first_seen_at_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (environment, plan, version) DO NOTHING`,
      this.#environment,
      plan,
      version,
      contentHash,
      nowMs,
    );
    const row = await this.#one<{ contentHash: string; firstSeenAtMs: number }>(
      `SELECT content_hash AS contentHash, first_seen_at_ms AS firstSeenAtMs
       FROM published_plan_versions WHERE environment = ? AND plan = ? AND version = ?`,
      plan,
      version,
    );
    return { contentHash: row!.contentHash, firstSeenAtMs: Number(row!.firstSeenAtMs) };
  }

  async #one<Row>(source: string, ...parameters: unknown[]): Promise<Row | null> {
    return ((await this.#all<Row>(source, ...parameters))[0] as Row | undefined) ?? null;
  }

  async #all<Row>(source: string, ...parameters: unknown[]): Promise<Row[]> {
    return (await this.#run(source, [this.#environment, ...parameters])).rows as Row[];
  }

  async #insert(source: string, ...parameters: unknown[]): Promise<number> {
    const { rows } = await this.#run(`${source} RETURNING id`, [this.#environment, ...parameters]);
    return Number(rows[0]?.id);
  }

  /** Runs a write with its parameters as given, the environment among them. */
  async #write(source: string, ...parameters: unknown[]): Promise<number> {
    return (await this.#run(source, parameters)).changes;
  }
}
