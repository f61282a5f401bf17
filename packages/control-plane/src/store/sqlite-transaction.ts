import type { Database as SqliteDatabase, Statement as SqliteStatement } from 'better-sqlite3';
import type {
  AddonPurchaseRow,
  CustomerRow,
  GrantRow,
  IdempotentResponse,
  LedgerEntryRow,
  SnapshotVersionRow,
  StoreTransaction,
  SubscriptionRow,
  UsageEventRow,
  UsageTotalKey,
} from './store.js';

const statementsByDatabase = new WeakMap<SqliteDatabase, Map<string, SqliteStatement>>();

const grantColumns = `id, customer_id AS customerId, currency, category, amount, remaining,
  priority, effective_at_ms AS effectiveAtMs, expires_at_ms AS expiresAtMs, expired,
  cost_basis AS costBasis, cost_basis_currency AS costBasisCurrency, source_key AS sourceKey,
  subscription_id AS subscriptionId, recurring_slot AS recurringSlot,
  period_index AS periodIndex`;

type StoredGrant = Omit<GrantRow, 'expired'> & { expired: number };

/** One open SQLite transaction, bound to an environment. Every query filters by it. */
export class SqliteTransaction implements StoreTransaction {
  readonly #database: SqliteDatabase;
  readonly environment: string;

  constructor(database: SqliteDatabase, environment: string) {
    this.#database = database;
    this.environment = environment;
  }

  async insertCustomer(customer: CustomerRow): Promise<boolean> {
    const result = this.#sql(
      `INSERT INTO customers (environment, id, external_id, created_at_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    ).run(this.environment, customer.id, customer.externalId, customer.createdAtMs);
    return result.changes === 1;
  }

  async getCustomer(id: string): Promise<CustomerRow | null> {
    return this.#one<CustomerRow>(
      `SELECT id, external_id AS externalId, created_at_ms AS createdAtMs FROM customers
       WHERE environment = ? AND id = ?`,
      id,
    );
  }

  async listCustomers(): Promise<CustomerRow[]> {
    return this.#all<CustomerRow>(
      `SELECT id, external_id AS externalId, created_at_ms AS createdAtMs FROM customers
       WHERE environment = ? ORDER BY id`,
    );
  }

  async insertSubscription(row: Omit<SubscriptionRow, 'id'>): Promise<SubscriptionRow> {
    const result = this.#sql(
      `INSERT INTO subscriptions (environment, customer_id, plan, plan_version, anchor_ms,
       quantity, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      this.environment,
      row.customerId,
      row.plan,
      row.planVersion,
      row.anchorMs,
      row.quantity,
      row.createdAtMs,
    );
    return { id: Number(result.lastInsertRowid), ...row };
  }

  async getSubscription(customerId: string): Promise<SubscriptionRow | null> {
    return this.#one<SubscriptionRow>(
      `SELECT id, customer_id AS customerId, plan, plan_version AS planVersion,
       anchor_ms AS anchorMs, quantity, created_at_ms AS createdAtMs FROM subscriptions
       WHERE environment = ? AND customer_id = ? ORDER BY id DESC LIMIT 1`,
      customerId,
    );
  }

  async insertAddonPurchase(row: Omit<AddonPurchaseRow, 'id'>): Promise<AddonPurchaseRow> {
    const result = this.#sql(
      `INSERT INTO addon_purchases (environment, customer_id, addon, purchased_at_ms)
       VALUES (?, ?, ?, ?)`,
    ).run(this.environment, row.customerId, row.addon, row.purchasedAtMs);
    return { id: Number(result.lastInsertRowid), ...row };
  }

  async listAddonPurchases(customerId: string): Promise<AddonPurchaseRow[]> {
    return this.#all<AddonPurchaseRow>(
      `SELECT id, customer_id AS customerId, addon, purchased_at_ms AS purchasedAtMs
       FROM addon_purchases WHERE environment = ? AND customer_id = ? ORDER BY id`,
      customerId,
    );
  }

  async insertGrant(grant: Omit<GrantRow, 'id'>): Promise<GrantRow> {
    const result = this.#sql(
      `INSERT INTO grants (environment, customer_id, currency, category, amount, remaining,
       priority, effective_at_ms, expires_at_ms, expired, cost_basis, cost_basis_currency,
       source_key, subscription_id, recurring_slot, period_index)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      this.environment,
      grant.customerId,
      grant.currency,
      grant.category,
      grant.amount,
      grant.remaining,
      grant.priority,
      grant.effectiveAtMs,
      grant.expiresAtMs,
      grant.expired ? 1 : 0,
      grant.costBasis,
      grant.costBasisCurrency,
      grant.sourceKey,
      grant.subscriptionId,
      grant.recurringSlot,
      grant.periodIndex,
    );
    return { id: Number(result.lastInsertRowid), ...grant };
  }

  async getGrantBySource(sourceKey: string): Promise<GrantRow | null> {
    const row = this.#one<StoredGrant>(
      `SELECT ${grantColumns} FROM grants WHERE environment = ? AND source_key = ?`,
      sourceKey,
    );
    return row === null ? null : { ...row, expired: row.expired === 1 };
  }

  async listGrants(customerId: string): Promise<GrantRow[]> {
    const rows = this.#all<StoredGrant>(
      `SELECT ${grantColumns} FROM grants WHERE environment = ? AND customer_id = ? ORDER BY id`,
      customerId,
    );
    return rows.map((row) => ({ ...row, expired: row.expired === 1 }));
  }

  async updateGrant(id: number, change: { remaining: number; expired: boolean }): Promise<void> {
    const result = this.#sql(
      'UPDATE grants SET remaining = ?, expired = ? WHERE environment = ? AND id = ?',
    ).run(change.remaining, change.expired ? 1 : 0, this.environment, id);
    if (result.changes !== 1) throw new Error(`grant ${id} not found in ${this.environment}`);
  }

  async lastRecurringPeriodIndex(subscriptionId: number, slot: number): Promise<number | null> {
    const row = this.#one<{ periodIndex: number | null }>(
      `SELECT max(period_index) AS periodIndex FROM grants
       WHERE environment = ? AND subscription_id = ? AND recurring_slot = ?`,
      subscriptionId,
      slot,
    );
    return row?.periodIndex ?? null;
  }

  async appendLedgerEntry(entry: Omit<LedgerEntryRow, 'id'>): Promise<number> {
    const result = this.#sql(
      `INSERT INTO ledger_entries (environment, customer_id, currency, grant_id, kind, amount,
       at_ms, actor, reference, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      this.environment,
      entry.customerId,
      entry.currency,
      entry.grantId,
      entry.kind,
      entry.amount,
      entry.atMs,
      entry.actor,
      entry.reference,
      entry.idempotencyKey,
    );
    return Number(result.lastInsertRowid);
  }

  async listLedgerEntries(customerId: string, afterId: number, limit: number) {
    return this.#all<LedgerEntryRow>(
      `SELECT id, customer_id AS customerId, currency, grant_id AS grantId, kind, amount,
       at_ms AS atMs, actor, reference, idempotency_key AS idempotencyKey FROM ledger_entries
       WHERE environment = ? AND customer_id = ? AND id > ? ORDER BY id LIMIT ?`,
      customerId,
      afterId,
      limit,
    );
  }

  async addToBalance(customerId: string, currency: string, delta: number): Promise<number> {
    const row = this.#one<{ balance: number }>(
      `INSERT INTO balances (environment, customer_id, currency, balance) VALUES (?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET balance = balance + excluded.balance RETURNING balance`,
      customerId,
      currency,
      delta,
    );
    return row?.balance ?? 0;
  }

  async getBalance(customerId: string, currency: string): Promise<number> {
    const row = this.#one<{ balance: number }>(
      'SELECT balance FROM balances WHERE environment = ? AND customer_id = ? AND currency = ?',
      customerId,
      currency,
    );
    return row?.balance ?? 0;
  }

  async addUsage(key: UsageTotalKey, quantity: number): Promise<void> {
    this.#sql(
      `INSERT INTO usage_totals (environment, customer_id, feature, period_start_ms,
       period_end_ms, used) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET used = used + excluded.used`,
    ).run(
      this.environment,
      key.customerId,
      key.feature,
      key.periodStartMs,
      key.periodEndMs,
      quantity,
    );
  }

  async getUsage(key: UsageTotalKey): Promise<number> {
    const row = this.#one<{ used: number }>(
      `SELECT used FROM usage_totals WHERE environment = ? AND customer_id = ? AND feature = ?
       AND period_start_ms = ?`,
      key.customerId,
      key.feature,
      key.periodStartMs,
    );
    return row?.used ?? 0;
  }

  async hasUsageEvent(customerId: string, key: string): Promise<boolean> {
    const row = this.#one<{ found: number }>(
      `SELECT 1 AS found FROM usage_events WHERE environment = ? AND customer_id = ?
       AND key = ?`,
      customerId,
      key,
    );
    return row !== null;
  }

  async insertUsageEvent(event: UsageEventRow): Promise<void> {
    this.#sql(
      `INSERT INTO usage_events (environment, customer_id, key, feature, quantity, time_ms,
       received_at_ms, credits_debited, credits_shortfall) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      this.environment,
      event.customerId,
      event.key,
      event.feature,
      event.quantity,
      event.timeMs,
      event.receivedAtMs,
      event.creditsDebited,
      event.creditsShortfall,
    );
  }

  async usageWatermark(): Promise<number> {
    const row = this.#one<{ sequence: number | null }>(
      'SELECT max(sequence) AS sequence FROM usage_events WHERE environment = ?',
    );
    return row?.sequence ?? 0;
  }

  async getIdempotentResponse(scope: string, key: string): Promise<IdempotentResponse | null> {
    const row = this.#one<{ requestHash: string; status: number; body: string }>(
      `SELECT request_hash AS requestHash, status, body FROM idempotency_keys
       WHERE environment = ? AND scope = ? AND key = ?`,
      scope,
      key,
    );
    return row === null ? null : { ...row, body: JSON.parse(row.body) as unknown };
  }

  async saveIdempotentResponse(scope: string, key: string, response: IdempotentResponse) {
    this.#sql(
      `INSERT INTO idempotency_keys (environment, scope, key, request_hash, status, body)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ).run(
      this.environment,
      scope,
      key,
      response.requestHash,
      response.status,
      JSON.stringify(response.body),
    );
  }

  async latestSnapshotVersion(): Promise<SnapshotVersionRow | null> {
    return this.#one<SnapshotVersionRow>(
      `SELECT version, content_hash AS contentHash, created_at_ms AS createdAtMs
       FROM snapshot_versions WHERE environment = ? ORDER BY version DESC LIMIT 1`,
    );
  }

  async insertSnapshotVersion(row: SnapshotVersionRow): Promise<void> {
    this.#sql(
      `INSERT INTO snapshot_versions (environment, version, content_hash, created_at_ms)
       VALUES (?, ?, ?, ?)`,
    ).run(this.environment, row.version, row.contentHash, row.createdAtMs);
  }

  /** Runs a query whose first parameter is the environment, returning one row or null. */
  #one<Row>(source: string, ...parameters: unknown[]): Row | null {
    return (this.#sql(source).get(this.environment, ...parameters) as Row | undefined) ?? null;
  }

  #all<Row>(source: string, ...parameters: unknown[]): Row[] {
    return this.#sql(source).all(this.environment, ...parameters) as Row[];
  }

  /** Prepared statements are cached per connection: preparing is the costly part. */
  #sql(source: string): SqliteStatement {
    let statements = statementsByDatabase.get(this.#database);
    if (statements === undefined) {
      statements = new Map();
      statementsByDatabase.set(this.#database, statements);
    }
    let statement = statements.get(source);
    if (statement === undefined) {
      statement = this.#database.prepare(source);
      statements.set(source, statement);
    }
    return statement;
  }
}
