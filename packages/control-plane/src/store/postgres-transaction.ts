// Over 500 lines on purpose: one class implements the whole `StoreTransaction` interface,
// method for method beside `SqliteTransaction`, so the two stores' SQL can be read side by side.
import type { PoolClient, QueryResultRow } from 'pg';
import { SqlAccounts } from './sql-accounts.js';
import { firstOccurrences, sequencesInOrder, usageEventId } from './usage-events.js';
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

const customerColumns = 'id, external_id AS externalId, created_at_ms AS createdAtMs';
const subscriptionColumns = `id, customer_id AS customerId, plan, plan_version AS planVersion,
  anchor_ms AS anchorMs, quantity, created_at_ms AS createdAtMs`;
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

/**
 * One open PostgreSQL transaction, bound to an environment; the same queries as
 * `SqliteTransaction`. SQL is written with `?` placeholders and camelCase aliases, which
 * `#query` turns into `$1…` and quoted names (PostgreSQL folds unquoted names to lower
 * case).
 */
export class PostgresTransaction implements StoreTransaction {
  readonly #client: PoolClient;
  readonly environment: string;
  /** Time zones, lifecycle, trials, overrides and seats: the same SQL as on SQLite. */
  readonly accounts: SqlAccounts;

  constructor(client: PoolClient, environment: string) {
    this.#client = client;
    this.environment = environment;
    this.accounts = new SqlAccounts(async (source, parameters) => {
      const result = await this.#query<Record<string, unknown>>(source, parameters);
      return { rows: result.rows, changes: result.rowCount ?? 0 };
    }, environment);
  }

  async insertCustomer(customer: CustomerRow): Promise<boolean> {
    const result = await this.#query(
      `INSERT INTO customers (environment, id, external_id, created_at_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
      [this.environment, customer.id, customer.externalId, customer.createdAtMs],
    );
    return result.rowCount === 1;
  }

  async getCustomer(id: string): Promise<CustomerRow | null> {
    return this.#one(
      `SELECT ${customerColumns} FROM customers WHERE environment = ? AND id = ?`,
      id,
    );
  }

  async lockCustomer(id: string): Promise<CustomerRow | null> {
    return this.#one(
      `SELECT ${customerColumns} FROM customers WHERE environment = ? AND id = ? FOR UPDATE`,
      id,
    );
  }

  /** ORDER BY runs below the row locks, so rows are locked in the order they are sorted. */
  async lockCustomers(ids: readonly string[]): Promise<CustomerRow[]> {
    return this.#all(
      `SELECT ${customerColumns} FROM customers WHERE environment = ? AND id = ANY(?::text[])
       ORDER BY id FOR UPDATE`,
      ids,
    );
  }

  async listUsageAnchors(ids: readonly string[]): Promise<UsageAnchorRow[]> {
    return this.#all(
      `SELECT c.id AS customerId, c.created_at_ms AS createdAtMs,
         settings.time_zone AS timeZone, s.plan, s.plan_version AS planVersion,
         s.anchor_ms AS anchorMs, s.quantity
       FROM customers c
       LEFT JOIN customer_settings settings
         ON settings.environment = c.environment AND settings.customer_id = c.id
       LEFT JOIN subscriptions s ON s.id = (SELECT max(latest.id) FROM subscriptions latest
         WHERE latest.environment = c.environment AND latest.customer_id = c.id)
       WHERE c.environment = ? AND c.id = ANY(?::text[])`,
      ids,
    );
  }

  async listCustomers(): Promise<CustomerRow[]> {
    return this.#all(`SELECT ${customerColumns} FROM customers WHERE environment = ? ORDER BY id`);
  }

  async insertSubscription(row: Omit<SubscriptionRow, 'id'>): Promise<SubscriptionRow> {
    const result = await this.#query<{ id: number }>(
      `INSERT INTO subscriptions (environment, customer_id, plan, plan_version, anchor_ms,
       quantity, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [
        this.environment,
        row.customerId,
        row.plan,
        row.planVersion,
        row.anchorMs,
        row.quantity,
        row.createdAtMs,
      ],
    );
    return { id: insertedId(result.rows), ...row };
  }

  async getSubscription(customerId: string): Promise<SubscriptionRow | null> {
    return this.#one(
      `SELECT ${subscriptionColumns} FROM subscriptions
       WHERE environment = ? AND customer_id = ? ORDER BY id DESC LIMIT 1`,
      customerId,
    );
  }

  async insertAddonPurchase(row: Omit<AddonPurchaseRow, 'id'>): Promise<AddonPurchaseRow> {
    const result = await this.#query<{ id: number }>(
      `INSERT INTO addon_purchases (environment, customer_id, addon, purchased_at_ms)
       VALUES (?, ?, ?, ?) RETURNING id`,
      [this.environment, row.customerId, row.addon, row.purchasedAtMs],
    );
    return { id: insertedId(result.rows), ...row };
  }

  async listAddonPurchases(customerId: string): Promise<AddonPurchaseRow[]> {
    return this.#all(
      `SELECT id, customer_id AS customerId, addon, purchased_at_ms AS purchasedAtMs
       FROM addon_purchases WHERE environment = ? AND customer_id = ? ORDER BY id`,
      customerId,
    );
  }

  async insertGrant(grant: Omit<GrantRow, 'id'>): Promise<GrantRow> {
    const result = await this.#query<{ id: number }>(
      `INSERT INTO grants (environment, customer_id, currency, category, amount, remaining,
       priority, effective_at_ms, expires_at_ms, expired, cost_basis, cost_basis_currency,
       source_key, subscription_id, recurring_slot, period_index, voided_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [
        this.environment,
        grant.customerId,
        grant.currency,
        grant.category,
        grant.amount,
        grant.remaining,
        grant.priority,
        grant.effectiveAtMs,
        grant.expiresAtMs,
        grant.expired,
        grant.costBasis,
        grant.costBasisCurrency,
        grant.sourceKey,
        grant.subscriptionId,
        grant.recurringSlot,
        grant.periodIndex,
        grant.voidedAtMs,
      ],
    );
    return { id: insertedId(result.rows), ...grant };
  }

  async getGrantBySource(sourceKey: string): Promise<GrantRow | null> {
    return this.#one(
      `SELECT ${grantColumns} FROM grants WHERE environment = ? AND source_key = ?`,
      sourceKey,
    );
  }

  async getGrant(id: number): Promise<GrantRow | null> {
    return this.#one(`SELECT ${grantColumns} FROM grants WHERE environment = ? AND id = ?`, id);
  }

  async listGrants(customerId: string): Promise<GrantRow[]> {
    return this.#all(
      `SELECT ${grantColumns} FROM grants WHERE environment = ? AND customer_id = ? ORDER BY id`,
      customerId,
    );
  }

  async listGrantsPage(customerId: string, afterId: number, limit: number) {
    return this.#all<GrantRow>(
      `SELECT ${grantColumns} FROM grants WHERE environment = ? AND customer_id = ? AND id > ?
       ORDER BY id LIMIT ?`,
      customerId,
      afterId,
      limit,
    );
  }

  async listDueScheduledGrants(customerId: string, nowMs: number): Promise<GrantRow[]> {
    return this.#all(
      `SELECT ${grantColumns} FROM grants WHERE environment = ? AND customer_id = ?
       AND source_key LIKE 'scheduled:%' AND NOT expired AND voided_at_ms IS NULL
       AND effective_at_ms <= ? AND NOT EXISTS (SELECT 1 FROM ledger_entries AS entry
       WHERE entry.environment = grants.environment AND entry.grant_id = grants.id)
       ORDER BY effective_at_ms, id`,
      customerId,
      nowMs,
    );
  }

  async listOpenGrants(customerId: string): Promise<GrantRow[]> {
    return this.#all(
      `SELECT ${grantColumns} FROM grants WHERE environment = ? AND customer_id = ?
       AND NOT expired AND voided_at_ms IS NULL
       AND (remaining > 0 OR expires_at_ms IS NOT NULL) ORDER BY id`,
      customerId,
    );
  }

  async updateGrant(id: number, change: GrantChange): Promise<void> {
    const result = await this.#query(
      `UPDATE grants SET remaining = ?, expired = ?,
       voided_at_ms = coalesce(?::bigint, voided_at_ms) WHERE environment = ? AND id = ?`,
      [change.remaining, change.expired, change.voidedAtMs ?? null, this.environment, id],
    );
    if (result.rowCount !== 1) throw new Error(`grant ${id} not found in ${this.environment}`);
  }

  async lastRecurringPeriodIndex(subscriptionId: number, slot: number): Promise<number | null> {
    const row = await this.#one<{ periodIndex: number | null }>(
      `SELECT max(period_index) AS periodIndex FROM grants
       WHERE environment = ? AND subscription_id = ? AND recurring_slot = ?`,
      subscriptionId,
      slot,
    );
    return row?.periodIndex ?? null;
  }

  async appendLedgerEntry(entry: Omit<LedgerEntryRow, 'id'>): Promise<number> {
    const result = await this.#query<{ id: number }>(
      `INSERT INTO ledger_entries (environment, customer_id, currency, grant_id, debit_id, kind,
       amount, at_ms, actor, reference, idempotency_key, reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [
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
      ],
    );
    return insertedId(result.rows);
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
    const row = await this.#one<{ total: number | null }>(
      `SELECT sum(amount) AS total FROM ledger_entries
       WHERE environment = ? AND customer_id = ? AND currency = ?`,
      customerId,
      currency,
    );
    return row?.total ?? 0;
  }

  async sumDebt(customerId: string, currency: string): Promise<number> {
    const row = await this.#one<{ total: number | null }>(
      `SELECT sum(amount) AS total FROM ledger_entries
       WHERE environment = ? AND customer_id = ? AND currency = ? AND grant_id IS NULL`,
      customerId,
      currency,
    );
    return 0 - (row?.total ?? 0);
  }

  async grantDrift(grantId: number): Promise<number> {
    const row = await this.#one<{ drift: number }>(
      `SELECT g.remaining - coalesce((SELECT sum(e.amount) FROM ledger_entries e
         WHERE e.environment = g.environment AND e.grant_id = g.id), 0) AS drift
       FROM grants g WHERE g.environment = ? AND g.id = ?`,
      grantId,
    );
    if (row === null) throw new Error(`grant ${grantId} not found in ${this.environment}`);
    return row.drift;
  }

  async insertDebit(debit: Omit<DebitRow, 'id'>): Promise<DebitRow> {
    const result = await this.#query<{ id: number }>(
      `INSERT INTO debits (environment, customer_id, currency, requested, debited, overage,
       shortfall, at_ms, actor, reference, idempotency_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [
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
      ],
    );
    return { id: insertedId(result.rows), ...debit };
  }

  async getDebit(id: number): Promise<DebitRow | null> {
    return this.#one(`SELECT ${debitColumns} FROM debits WHERE environment = ? AND id = ?`, id);
  }

  async listDebitPortions(debitId: number): Promise<DebitPortion[]> {
    return this.#all(
      `SELECT grant_id AS grantId,
         -sum(CASE WHEN kind = 'debit' THEN amount ELSE 0 END) AS drawn,
         sum(CASE WHEN kind = 'refund' THEN amount ELSE 0 END) AS refunded
       FROM ledger_entries WHERE environment = ? AND debit_id = ?
       GROUP BY grant_id ORDER BY min(id)`,
      debitId,
    );
  }

  async addToBalance(customerId: string, currency: string, delta: number): Promise<number> {
    const row = await this.#one<{ balance: number }>(
      `INSERT INTO balances (environment, customer_id, currency, balance) VALUES (?, ?, ?, ?)
       ON CONFLICT (environment, customer_id, currency)
       DO UPDATE SET balance = balances.balance + excluded.balance RETURNING balance`,
      customerId,
      currency,
      delta,
    );
    return row?.balance ?? 0;
  }

  async getBalance(customerId: string, currency: string): Promise<number> {
    const row = await this.#one<{ balance: number }>(
      'SELECT balance FROM balances WHERE environment = ? AND customer_id = ? AND currency = ?',
      customerId,
      currency,
    );
    return row?.balance ?? 0;
  }

  /** One statement for the whole list, its columns sent as arrays. */
  async addUsageTotals(totals: readonly { key: UsageTotalKey; quantity: number }[]) {
    if (totals.length === 0) return;
    await this.#query(
      `INSERT INTO usage_totals (environment, customer_id, feature, period_start_ms,
       period_end_ms, used)
       SELECT ?, customer_id, feature, period_start_ms, period_end_ms, used
       FROM unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[])
         AS total (customer_id, feature, period_start_ms, period_end_ms, used)
       ON CONFLICT (environment, customer_id, feature, period_start_ms)
       DO UPDATE SET used = LEAST(usage_totals.used + excluded.used, ${Number.MAX_SAFE_INTEGER})`,
      [
        this.environment,
        totals.map((total) => total.key.customerId),
        totals.map((total) => total.key.feature),
        totals.map((total) => total.key.periodStartMs),
        totals.map((total) => total.key.periodEndMs),
        totals.map((total) => total.quantity),
      ],
    );
  }

  async getUsage(key: UsageTotalKey): Promise<number> {
    const row = await this.#one<{ used: number }>(
      `SELECT used FROM usage_totals WHERE environment = ? AND customer_id = ? AND feature = ?
       AND period_start_ms = ?`,
      key.customerId,
      key.feature,
      key.periodStartMs,
    );
    return row?.used ?? 0;
  }

  /**
   * One statement for the whole list, sent as one JSON parameter: V8 writes JSON far faster
   * than pg escapes arrays, and the server reads it in one pass. Repeats within the list
   * are dropped first, since one INSERT cannot tell which of two equal keys it kept; the
   * rows the store already holds are skipped by ON CONFLICT DO NOTHING.
   */
  async insertUsageEvents(events: readonly NewUsageEvent[], receivedAtMs: number) {
    const rows = firstOccurrences(events).map((event) => ({
      c: event.customerId,
      k: event.key,
      f: event.feature,
      q: event.quantity,
      t: event.timeMs,
    }));
    const result = await this.#query<{ sequence: number; customerId: string; key: string }>(
      `INSERT INTO usage_events (environment, customer_id, key, feature, quantity, time_ms,
       received_at_ms, credits_debited, credits_shortfall)
       SELECT ?, c, k, f, q, t, ?, 0, 0
       FROM json_to_recordset(?::json) AS event (c text, k text, f text, q bigint, t bigint)
       ON CONFLICT DO NOTHING RETURNING sequence, customer_id AS customerId, key`,
      [this.environment, receivedAtMs, JSON.stringify(rows)],
    );
    const sequences = new Map<string, number>();
    for (const row of result.rows)
      sequences.set(usageEventId(row.customerId, row.key), row.sequence);
    return sequencesInOrder(events, sequences);
  }

  async getUsageEvents(ids: readonly { customerId: string; key: string }[]) {
    if (ids.length === 0) return [];
    const pairs = ids.map((id) => ({ c: id.customerId, k: id.key }));
    const result = await this.#query<NewUsageEvent>(
      `SELECT customer_id AS customerId, key, feature, quantity, time_ms AS timeMs
       FROM usage_events JOIN json_to_recordset(?::json) AS wanted (c text, k text)
       ON customer_id = wanted.c AND key = wanted.k WHERE environment = ?`,
      [JSON.stringify(pairs), this.environment],
    );
    return result.rows;
  }

  async setUsageEventCredits(
    customerId: string,
    key: string,
    credits: { debited: number; shortfall: number },
  ): Promise<void> {
    const result = await this.#query(
      `UPDATE usage_events SET credits_debited = ?, credits_shortfall = ?
       WHERE environment = ? AND customer_id = ? AND key = ?`,
      [credits.debited, credits.shortfall, this.environment, customerId, key],
    );
    if (result.rowCount !== 1) throw new Error(`usage event ${key} of ${customerId} not found`);
  }

  async usageWatermark(): Promise<number> {
    const row = await this.#one<{ sequence: number | null }>(
      'SELECT max(sequence) AS sequence FROM usage_events WHERE environment = ?',
    );
    return row?.sequence ?? 0;
  }

  /**
   * One statement claims the key, takes over a stale claim, or locks the row as it is. A
   * separate INSERT … DO NOTHING and SELECT would let a concurrent release delete the row
   * between the two; `DO UPDATE` locks the conflicting row even when its WHERE is false,
   * so the row read next is the one that blocked the insert, and it stays until commit.
   */
  async claimIdempotencyKey(claim: IdempotencyClaim): Promise<ClaimOutcome> {
    const claimed = await this.#query(
      `INSERT INTO idempotency_keys (environment, scope, key, request_hash, status, body, state,
       claim_token, created_at_ms) VALUES (?, ?, ?, ?, 0, 'null', 'pending', ?, ?)
       ON CONFLICT (environment, scope, key) DO UPDATE SET request_hash = excluded.request_hash,
       claim_token = excluded.claim_token, created_at_ms = excluded.created_at_ms
       WHERE idempotency_keys.state = 'pending' AND idempotency_keys.created_at_ms < ?
       RETURNING 1 AS claimed`,
      [
        this.environment,
        claim.scope,
        claim.key,
        claim.requestHash,
        claim.token,
        claim.nowMs,
        claim.staleBeforeMs,
      ],
    );
    if (claimed.rowCount === 1) return { state: 'claimed' };

    const row = await this.#one<{
      requestHash: string;
      status: number;
      body: string;
      state: 'pending' | 'done';
    }>(
      `SELECT request_hash AS requestHash, status, body, state
       FROM idempotency_keys WHERE environment = ? AND scope = ? AND key = ?`,
      claim.scope,
      claim.key,
    );
    if (row === null) throw new Error(`idempotency key ${claim.key} not locked by its claim`);
    if (row.state === 'done') {
      const response = { status: row.status, body: JSON.parse(row.body) as unknown };
      return { state: 'done', requestHash: row.requestHash, response };
    }
    return { state: 'in_flight', requestHash: row.requestHash };
  }

  async completeIdempotencyKey(
    scope: string,
    key: string,
    token: string,
    response: StoredResponse,
  ): Promise<boolean> {
    const result = await this.#query(
      `UPDATE idempotency_keys SET state = 'done', status = ?, body = ?, claim_token = NULL
       WHERE environment = ? AND scope = ? AND key = ? AND claim_token = ?`,
      [response.status, JSON.stringify(response.body), this.environment, scope, key, token],
    );
    return result.rowCount === 1;
  }

  async releaseIdempotencyKey(scope: string, key: string, token: string): Promise<void> {
    await this.#query(
      `DELETE FROM idempotency_keys WHERE environment = ? AND scope = ? AND key = ?
       AND state = 'pending' AND claim_token = ?`,
      [this.environment, scope, key, token],
    );
  }

  async purgeIdempotencyKeys(beforeMs: number): Promise<number> {
    const result = await this.#query(
      `DELETE FROM idempotency_keys WHERE environment = ? AND state = 'done'
       AND created_at_ms < ?`,
      [this.environment, beforeMs],
    );
    return result.rowCount ?? 0;
  }

  async latestSnapshotVersion(): Promise<SnapshotVersionRow | null> {
    return this.#one(
      `SELECT version, content_hash AS contentHash, created_at_ms AS createdAtMs
       FROM snapshot_versions WHERE environment = ? ORDER BY version DESC LIMIT 1`,
    );
  }

  async insertSnapshotVersion(row: SnapshotVersionRow): Promise<void> {
    await this.#query(
      `INSERT INTO snapshot_versions (environment, version, content_hash, created_at_ms)
       VALUES (?, ?, ?, ?)`,
      [this.environment, row.version, row.contentHash, row.createdAtMs],
    );
  }

  /** Runs a query whose first parameter is the environment, returning one row or null. */
  async #one<Row extends QueryResultRow>(source: string, ...parameters: unknown[]) {
    const result = await this.#query<Row>(source, [this.environment, ...parameters]);
    return result.rows[0] ?? null;
  }

  async #all<Row extends QueryResultRow>(source: string, ...parameters: unknown[]) {
    return (await this.#query<Row>(source, [this.environment, ...parameters])).rows;
  }

  #query<Row extends QueryResultRow>(source: string, parameters: unknown[]) {
    let index = 0;
    const text = source
      .replace(/\?/g, () => `$${(index += 1)}`)
      .replace(/\bAS ([a-z]+[A-Z]\w*)/g, 'AS "$1"');
    return this.#client.query<Row>(text, parameters);
  }
}

function insertedId(rows: readonly { id: number }[]): number {
  const id = rows[0]?.id;
  if (id === undefined) throw new Error('INSERT … RETURNING id returned no row');
  return id;
}
