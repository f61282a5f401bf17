// Over 500 lines on purpose: one class implements the whole `StoreTransaction` interface,
// method for method beside `PostgresTransaction`, so the two stores' SQL can be read side by side.
import type { Database as SqliteDatabase, Statement as SqliteStatement } from 'better-sqlite3';
import { SqlAccounts } from './sql-accounts.js';
import { exactRow, exactRows } from './sqlite-integers.js';
import type {
  AddonPurchaseRow,
  ClaimOutcome,
  CustomerRow,
  DebitPortion,
  DebitRow,
  GrantChange,
  GrantRow,
  IdempotencyClaim,
  LedgerEntryRow,
  SnapshotVersionRow,
  StoredResponse,
  StoreTransaction,
  SubscriptionRow,
  UsageAnchorRow,
  NewUsageEvent,
  UsageTotalKey,
} from './store.js';

const statementsByDatabase = new WeakMap<SqliteDatabase, Map<string, SqliteStatement>>();

const grantColumns = `id, customer_id AS customerId, currency, category, amount, remaining,
  priority, effective_at_ms AS effectiveAtMs, expires_at_ms AS expiresAtMs, expired,
  cost_basis AS costBasis, cost_basis_currency AS costBasisCurrency, source_key AS sourceKey,
  subscription_id AS subscriptionId, recurring_slot AS recurringSlot,
  period_index AS periodIndex, voided_at_ms AS voidedAtMs`;

const entryColumns = `id, customer_id AS customerId, currency, grant_id AS grantId,
  debit_id AS debitId, kind, amount, at_ms AS atMs, actor, reference,
  idempotency_key AS idempotencyKey, reason`;

const debitColumns = `id, customer_id AS customerId, currency, requested, debited, overage,
  shortfall, at_ms AS atMs, actor, reference, idempotency_key AS idempotencyKey`;

type StoredGrant = Omit<GrantRow, 'expired'> & { expired: number };

interface StoredKey {
  requestHash: string;
  status: number;
  body: string;
  state: 'pending' | 'done';
  createdAtMs: number;
}

/** One open SQLite transaction, bound to an environment. Every query filters by it. */
export class SqliteTransaction implements StoreTransaction {
  readonly #database: SqliteDatabase;
  readonly environment: string;
  readonly accounts: SqlAccounts;

  constructor(database: SqliteDatabase, environment: string) {
    this.#database = database;
    this.environment = environment;
    this.accounts = new SqlAccounts(async (source, parameters) => {
      const statement = this.#sql(source);
      if (statement.reader) {
        return { rows: exactRows(statement.all(...parameters)), changes: 0 };
      }
      return { rows: [], changes: statement.run(...parameters).changes };
    }, environment);
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

  /** SQLite transactions run one at a time (`BEGIN IMMEDIATE`), so a read is a lock. */
  async lockCustomer(id: string): Promise<CustomerRow | null> {
    return this.getCustomer(id);
  }

  /** A read is a lock here (see `lockCustomer`); the ids travel as one JSON array. */
  async lockCustomers(ids: readonly string[]): Promise<CustomerRow[]> {
    return this.#all<CustomerRow>(
      `SELECT id, external_id AS externalId, created_at_ms AS createdAtMs FROM customers
       WHERE environment = ? AND id IN (SELECT value FROM json_each(?)) ORDER BY id`,
      JSON.stringify(ids),
    );
  }

  async listUsageAnchors(ids: readonly string[]): Promise<UsageAnchorRow[]> {
    return this.#all<UsageAnchorRow>(
      `SELECT c.id AS customerId, c.created_at_ms AS createdAtMs,
         settings.time_zone AS timeZone, s.plan, s.plan_version AS planVersion,
         s.anchor_ms AS anchorMs, s.quantity
       FROM customers c
       LEFT JOIN customer_settings settings
         ON settings.environment = c.environment AND settings.customer_id = c.id
       LEFT JOIN subscriptions s ON s.id = (SELECT max(latest.id) FROM subscriptions latest
         WHERE latest.environment = c.environment AND latest.customer_id = c.id)
       WHERE c.environment = ? AND c.id IN (SELECT value FROM json_each(?))`,
      JSON.stringify(ids),
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
       source_key, subscription_id, recurring_slot, period_index, voided_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
      grant.voidedAtMs,
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

  async getGrant(id: number): Promise<GrantRow | null> {
    const row = this.#one<StoredGrant>(
      `SELECT ${grantColumns} FROM grants WHERE environment = ? AND id = ?`,
      id,
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

  async listGrantsPage(customerId: string, afterId: number, limit: number) {
    const rows = this.#all<StoredGrant>(
      `SELECT ${grantColumns} FROM grants WHERE environment = ? AND customer_id = ? AND id > ?
       ORDER BY id LIMIT ?`,
      customerId,
      afterId,
      limit,
    );
    return rows.map((row) => ({ ...row, expired: row.expired === 1 }));
  }

  async listDueScheduledGrants(customerId: string, nowMs: number): Promise<GrantRow[]> {
    const rows = this.#all<StoredGrant>(
      `SELECT ${grantColumns} FROM grants WHERE environment = ? AND customer_id = ?
       AND source_key LIKE 'scheduled:%' AND expired = 0 AND voided_at_ms IS NULL
       AND effective_at_ms <= ? AND NOT EXISTS (SELECT 1 FROM ledger_entries AS entry
       WHERE entry.environment = grants.environment AND entry.grant_id = grants.id)
       ORDER BY effective_at_ms, id`,
      customerId,
      nowMs,
    );
    return rows.map((row) => ({ ...row, expired: row.expired === 1 }));
  }

  async listOpenGrants(customerId: string): Promise<GrantRow[]> {
    const rows = this.#all<StoredGrant>(
      `SELECT ${grantColumns} FROM grants WHERE environment = ? AND customer_id = ?
       AND expired = 0 AND voided_at_ms IS NULL
       AND (remaining > 0 OR expires_at_ms IS NOT NULL) ORDER BY id`,
      customerId,
    );
    return rows.map((row) => ({ ...row, expired: row.expired === 1 }));
  }

  async updateGrant(id: number, change: GrantChange): Promise<void> {
    const result = this.#sql(
      `UPDATE grants SET remaining = ?, expired = ?, voided_at_ms = coalesce(?, voided_at_ms)
       WHERE environment = ? AND id = ?`,
    ).run(
      change.remaining,
      change.expired ? 1 : 0,
      change.voidedAtMs ?? null,
      this.environment,
      id,
    );
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
      `INSERT INTO ledger_entries (environment, customer_id, currency, grant_id, debit_id, kind,
       amount, at_ms, actor, reference, idempotency_key, reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      this.environment,
      entry.customerId,
      entry.currency,
      entry.grantId,
      entry.debitId,
      entry.kind,
      entry.amount,
      entry.atMs,
      entry.actor,
      entry.reference,
      entry.idempotencyKey,
      entry.reason,
    );
    return Number(result.lastInsertRowid);
  }

  async listLedgerEntries(customerId: string, afterId: number, limit: number) {
    return this.#all<LedgerEntryRow>(
      `SELECT ${entryColumns} FROM ledger_entries
       WHERE environment = ? AND customer_id = ? AND id > ? ORDER BY id LIMIT ?`,
      customerId,
      afterId,
      limit,
    );
  }

  async sumLedgerEntries(customerId: string, currency: string): Promise<number> {
    const row = this.#one<{ total: number | null }>(
      `SELECT sum(amount) AS total FROM ledger_entries
       WHERE environment = ? AND customer_id = ? AND currency = ?`,
      customerId,
      currency,
    );
    return row?.total ?? 0;
  }

  async sumDebt(customerId: string, currency: string): Promise<number> {
    const row = this.#one<{ total: number | null }>(
      `SELECT sum(amount) AS total FROM ledger_entries
       WHERE environment = ? AND customer_id = ? AND currency = ? AND grant_id IS NULL`,
      customerId,
      currency,
    );
    return 0 - (row?.total ?? 0);
  }

  async grantDrift(grantId: number): Promise<number> {
    const row = this.#one<{ drift: number }>(
      `SELECT g.remaining - coalesce((SELECT sum(e.amount) FROM ledger_entries e
         WHERE e.environment = g.environment AND e.grant_id = g.id), 0) AS drift
       FROM grants g WHERE g.environment = ? AND g.id = ?`,
      grantId,
    );
    if (row === null) throw new Error(`grant ${grantId} not found in ${this.environment}`);
    return row.drift;
  }

  async insertDebit(debit: Omit<DebitRow, 'id'>): Promise<DebitRow> {
    const result = this.#sql(
      `INSERT INTO debits (environment, customer_id, currency, requested, debited, overage,
       shortfall, at_ms, actor, reference, idempotency_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      this.environment,
      debit.customerId,
      debit.currency,
      debit.requested,
      debit.debited,
      debit.overage,
      debit.shortfall,
      debit.atMs,
      debit.actor,
      debit.reference,
      debit.idempotencyKey,
    );
    return { id: Number(result.lastInsertRowid), ...debit };
  }

  async getDebit(id: number): Promise<DebitRow | null> {
    return this.#one<DebitRow>(
      `SELECT ${debitColumns} FROM debits WHERE environment = ? AND id = ?`,
      id,
    );
  }

  async listDebitPortions(debitId: number): Promise<DebitPortion[]> {
    return this.#all<DebitPortion>(
      `SELECT grant_id AS grantId,
         -sum(CASE WHEN kind = 'debit' THEN amount ELSE 0 END) AS drawn,
         sum(CASE WHEN kind = 'refund' THEN amount ELSE 0 END) AS refunded
       FROM ledger_entries WHERE environment = ? AND debit_id = ?
       GROUP BY grant_id ORDER BY min(id)`,
      debitId,
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

  async addUsageTotals(totals: readonly { key: UsageTotalKey; quantity: number }[]) {
    const statement = this.#sql(
      `INSERT INTO usage_totals (environment, customer_id, feature, period_start_ms,
       period_end_ms, used) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET used = MIN(used + excluded.used, ${Number.MAX_SAFE_INTEGER})`,
    );
    for (const { key, quantity } of totals) {
      statement.run(
        this.environment,
        key.customerId,
        key.feature,
        key.periodStartMs,
        key.periodEndMs,
        quantity,
      );
    }
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

  /**
   * One prepared statement run per event: SQLite runs in this process, so there is no round
   * trip to save, and a multi-row INSERT measured no faster. A repeat of an earlier key in
   * the list conflicts with the row just inserted and is skipped like any duplicate.
   */
  async insertUsageEvents(events: readonly NewUsageEvent[], receivedAtMs: number) {
    const statement = this.#sql(
      `INSERT INTO usage_events (environment, customer_id, key, feature, quantity, time_ms,
       received_at_ms, credits_debited, credits_shortfall) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0)
       ON CONFLICT DO NOTHING RETURNING sequence`,
    );
    return events.map((event) => {
      const row = exactRow(
        statement.get(
          this.environment,
          event.customerId,
          event.key,
          event.feature,
          event.quantity,
          event.timeMs,
          receivedAtMs,
        ),
      ) as { sequence: number } | undefined;
      return row?.sequence ?? null;
    });
  }

  async getUsageEvents(ids: readonly { customerId: string; key: string }[]) {
    const statement = this.#sql(
      `SELECT customer_id AS customerId, key, feature, quantity, time_ms AS timeMs
       FROM usage_events WHERE environment = ? AND customer_id = ? AND key = ?`,
    );
    const found: NewUsageEvent[] = [];
    for (const id of ids) {
      const row = exactRow(statement.get(this.environment, id.customerId, id.key)) as
        NewUsageEvent | undefined;
      if (row !== undefined) found.push(row);
    }
    return found;
  }

  async setUsageEventCredits(
    customerId: string,
    key: string,
    credits: { debited: number; shortfall: number },
  ): Promise<void> {
    const result = this.#sql(
      `UPDATE usage_events SET credits_debited = ?, credits_shortfall = ?
       WHERE environment = ? AND customer_id = ? AND key = ?`,
    ).run(credits.debited, credits.shortfall, this.environment, customerId, key);
    if (result.changes !== 1) throw new Error(`usage event ${key} of ${customerId} not found`);
  }

  async usageWatermark(): Promise<number> {
    const row = this.#one<{ sequence: number | null }>(
      'SELECT max(sequence) AS sequence FROM usage_events WHERE environment = ?',
    );
    return row?.sequence ?? 0;
  }

  async claimIdempotencyKey(claim: IdempotencyClaim): Promise<ClaimOutcome> {
    const inserted = this.#sql(
      `INSERT INTO idempotency_keys (environment, scope, key, request_hash, status, body, state,
       claim_token, created_at_ms) VALUES (?, ?, ?, ?, 0, 'null', 'pending', ?, ?)
       ON CONFLICT DO NOTHING`,
    ).run(this.environment, claim.scope, claim.key, claim.requestHash, claim.token, claim.nowMs);
    if (inserted.changes === 1) return { state: 'claimed' };

    const row = this.#one<StoredKey>(
      `SELECT request_hash AS requestHash, status, body, state, created_at_ms AS createdAtMs
       FROM idempotency_keys WHERE environment = ? AND scope = ? AND key = ?`,
      claim.scope,
      claim.key,
    );
    if (row === null) throw new Error(`idempotency key ${claim.key} vanished`);
    if (row.state === 'done') {
      const response = { status: row.status, body: JSON.parse(row.body) as unknown };
      return { state: 'done', requestHash: row.requestHash, response };
    }
    if (row.createdAtMs >= claim.staleBeforeMs) {
      return { state: 'in_flight', requestHash: row.requestHash };
    }
    this.#sql(
      `UPDATE idempotency_keys SET request_hash = ?, claim_token = ?, created_at_ms = ?
       WHERE environment = ? AND scope = ? AND key = ?`,
    ).run(claim.requestHash, claim.token, claim.nowMs, this.environment, claim.scope, claim.key);
    return { state: 'claimed' };
  }

  async completeIdempotencyKey(
    scope: string,
    key: string,
    token: string,
    response: StoredResponse,
  ): Promise<boolean> {
    const result = this.#sql(
      `UPDATE idempotency_keys SET state = 'done', status = ?, body = ?, claim_token = NULL
       WHERE environment = ? AND scope = ? AND key = ? AND claim_token = ?`,
    ).run(response.status, JSON.stringify(response.body), this.environment, scope, key, token);
    return result.changes === 1;
  }

  async releaseIdempotencyKey(scope: string, key: string, token: string): Promise<void> {
    this.#sql(
      `DELETE FROM idempotency_keys WHERE environment = ? AND scope = ? AND key = ?
       AND state = 'pending' AND claim_token = ?`,
    ).run(this.environment, scope, key, token);
  }

  async purgeIdempotencyKeys(beforeMs: number): Promise<number> {
    const result = this.#sql(
      `DELETE FROM idempotency_keys WHERE environment = ? AND state = 'done'
       AND created_at_ms < ?`,
    ).run(this.environment, beforeMs);
    return result.changes;
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
    return (
      exactRow<Row | undefined>(this.#sql(source).get(this.environment, ...parameters)) ?? null
    );
  }

  #all<Row>(source: string, ...parameters: unknown[]): Row[] {
    return exactRows<Row>(this.#sql(source).all(this.environment, ...parameters));
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
      // Reads get BigInts, made numbers only when exact (`exactRow`).
      if (statement.reader) statement.safeIntegers(true);
      statements.set(source, statement);
    }
    return statement;
  }
}
