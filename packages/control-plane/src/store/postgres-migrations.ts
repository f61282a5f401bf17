import type { PoolClient } from 'pg';
import { accountPostgresMigrations } from './account-migrations.js';

/**
 * The PostgreSQL schema: the SQLite migrations' tables in PostgreSQL types. Amounts and
 * instants are BIGINT (64-bit); they are read back as JavaScript numbers only after a
 * check that they are safe integers (`postgres-store.ts`). Version 1 matches SQLite's 1,
 * and 100 its ledger migration, so a version means the same schema in both stores.
 */
const postgresMigrations: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'customers, subscriptions, credit ledger, usage',
    sql: `
      CREATE TABLE customers (
        environment TEXT NOT NULL,
        id TEXT NOT NULL,
        external_id TEXT,
        created_at_ms BIGINT NOT NULL,
        PRIMARY KEY (environment, id)
      );
      CREATE TABLE subscriptions (
        id BIGSERIAL PRIMARY KEY,
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        plan TEXT NOT NULL,
        plan_version BIGINT NOT NULL,
        anchor_ms BIGINT NOT NULL,
        quantity BIGINT NOT NULL,
        created_at_ms BIGINT NOT NULL
      );
      CREATE INDEX subscriptions_by_customer ON subscriptions (environment, customer_id, id);
      CREATE TABLE addon_purchases (
        id BIGSERIAL PRIMARY KEY,
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        addon TEXT NOT NULL,
        purchased_at_ms BIGINT NOT NULL
      );
      CREATE INDEX addon_purchases_by_customer ON addon_purchases (environment, customer_id);
      CREATE TABLE grants (
        id BIGSERIAL PRIMARY KEY,
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        category TEXT NOT NULL CHECK (category IN ('paid', 'promotional')),
        amount BIGINT NOT NULL CHECK (amount > 0),
        remaining BIGINT NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
        priority BIGINT NOT NULL,
        effective_at_ms BIGINT NOT NULL,
        expires_at_ms BIGINT,
        expired BOOLEAN NOT NULL DEFAULT FALSE,
        cost_basis BIGINT NOT NULL,
        cost_basis_currency TEXT NOT NULL,
        source_key TEXT NOT NULL,
        subscription_id BIGINT,
        recurring_slot BIGINT,
        period_index BIGINT,
        UNIQUE (environment, source_key)
      );
      CREATE INDEX grants_by_customer ON grants (environment, customer_id, id);
      CREATE TABLE ledger_entries (
        id BIGSERIAL PRIMARY KEY,
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        grant_id BIGINT,
        kind TEXT NOT NULL CHECK (kind IN ('grant', 'debit', 'expiry', 'adjustment')),
        amount BIGINT NOT NULL,
        at_ms BIGINT NOT NULL,
        actor TEXT NOT NULL,
        reference TEXT,
        idempotency_key TEXT
      );
      CREATE INDEX ledger_entries_by_customer ON ledger_entries (environment, customer_id, id);
      CREATE TABLE balances (
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        balance BIGINT NOT NULL,
        PRIMARY KEY (environment, customer_id, currency)
      );
      CREATE TABLE usage_totals (
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        feature TEXT NOT NULL,
        period_start_ms BIGINT NOT NULL,
        period_end_ms BIGINT NOT NULL,
        used BIGINT NOT NULL,
        PRIMARY KEY (environment, customer_id, feature, period_start_ms)
      );
      CREATE TABLE usage_events (
        sequence BIGSERIAL PRIMARY KEY,
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        key TEXT NOT NULL,
        feature TEXT NOT NULL,
        quantity BIGINT NOT NULL,
        time_ms BIGINT NOT NULL,
        received_at_ms BIGINT NOT NULL,
        credits_debited BIGINT NOT NULL,
        credits_shortfall BIGINT NOT NULL,
        UNIQUE (environment, customer_id, key)
      );
      CREATE TABLE idempotency_keys (
        environment TEXT NOT NULL,
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (environment, scope, key)
      );
      CREATE TABLE snapshot_versions (
        environment TEXT NOT NULL,
        version BIGINT NOT NULL,
        content_hash TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        PRIMARY KEY (environment, version)
      );
    `,
  },
  {
    version: 100,
    name: 'ledger: void and refund entries, debits, append-only entries, idempotency claims',
    sql: `
      ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
      ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
        CHECK (kind IN ('grant', 'debit', 'expiry', 'void', 'refund', 'adjustment'));
      ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_amount_check
        CHECK (amount <> 0);
      ALTER TABLE ledger_entries ADD COLUMN debit_id BIGINT;
      CREATE INDEX ledger_entries_by_grant ON ledger_entries (environment, grant_id);
      CREATE INDEX ledger_entries_by_debit ON ledger_entries (environment, debit_id);
      CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'ledger entries are append-only'; END $$;
      CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
        FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();

      ALTER TABLE grants ADD COLUMN voided_at_ms BIGINT;

      CREATE TABLE debits (
        id BIGSERIAL PRIMARY KEY,
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        requested BIGINT NOT NULL CHECK (requested > 0),
        debited BIGINT NOT NULL CHECK (debited >= 0 AND debited <= requested),
        overage BIGINT NOT NULL CHECK (overage >= 0),
        shortfall BIGINT NOT NULL CHECK (shortfall >= 0),
        at_ms BIGINT NOT NULL,
        actor TEXT NOT NULL,
        reference TEXT,
        idempotency_key TEXT
      );
      CREATE INDEX debits_by_customer ON debits (environment, customer_id, id);

      ALTER TABLE idempotency_keys ADD COLUMN state TEXT NOT NULL DEFAULT 'done'
        CHECK (state IN ('pending', 'done'));
      ALTER TABLE idempotency_keys ADD COLUMN claim_token TEXT;
      ALTER TABLE idempotency_keys ADD COLUMN created_at_ms BIGINT NOT NULL DEFAULT 0;
      CREATE INDEX idempotency_keys_by_age ON idempotency_keys (environment, created_at_ms);
    `,
  },
  {
    version: 101,
    name: 'ledger: indexes for open grants and per-currency sums',
    sql: `
      CREATE INDEX grants_open ON grants (environment, customer_id, id)
        WHERE NOT expired AND voided_at_ms IS NULL;
      CREATE INDEX ledger_entries_by_currency
        ON ledger_entries (environment, customer_id, currency, amount);
    `,
  },
  {
    version: 102,
    name: 'ledger and usage: indexes for the debt and the usage watermark',
    sql: `
      CREATE INDEX ledger_entries_debt
        ON ledger_entries (environment, customer_id, currency, amount) WHERE grant_id IS NULL;
      CREATE INDEX usage_events_by_sequence ON usage_events (environment, sequence);
    `,
  },
  {
    version: 103,
    name: 'ledger: the reason given for an adjustment',
    sql: `ALTER TABLE ledger_entries ADD COLUMN reason TEXT;`,
  },
];

/**
 * Applies every migration the schema has not recorded, in one transaction that holds an
 * advisory lock, so that two control planes starting together migrate once.
 */
export async function migratePostgres(
  client: PoolClient,
  schema: string,
  nowMs: number,
): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tollgate:${schema}`]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)`);
    const applied = await client.query<{ version: string }>(
      'SELECT version::text AS version FROM schema_migrations',
    );
    const versions = new Set(applied.rows.map((row) => Number(row.version)));
    for (const migration of [...postgresMigrations, ...accountPostgresMigrations]) {
      if (versions.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query(
        'INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)',
        [migration.version, migration.name, nowMs],
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}
