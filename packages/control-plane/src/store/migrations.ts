import type { Database as SqliteDatabase } from 'better-sqlite3';
import { ledgerSqliteMigrations } from './ledger-migrations.js';

/**
 * Versioned schema migrations, applied in order on start. A migration is never edited once
 * released: a change is a new entry. Every table carries `environment`, first in its keys,
 * so that test and live data share a file but never a row.
 *
 * Amounts are INTEGER columns holding JavaScript safe integers; instants are epoch ms.
 */
const migrations: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'customers, subscriptions, credit ledger, usage',
    sql: `
      CREATE TABLE customers (
        environment TEXT NOT NULL,
        id TEXT NOT NULL,
        external_id TEXT,
        created_at_ms INTEGER NOT NULL,
        PRIMARY KEY (environment, id)
      );
      CREATE TABLE subscriptions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        plan TEXT NOT NULL,
        plan_version INTEGER NOT NULL,
        anchor_ms INTEGER NOT NULL,
        quantity INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL
      );
      CREATE INDEX subscriptions_by_customer ON subscriptions (environment, customer_id, id);
      CREATE TABLE addon_purchases (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        addon TEXT NOT NULL,
        purchased_at_ms INTEGER NOT NULL
      );
      CREATE INDEX addon_purchases_by_customer ON addon_purchases (environment, customer_id);
      CREATE TABLE grants (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        category TEXT NOT NULL CHECK (category IN ('paid', 'promotional')),
        amount INTEGER NOT NULL CHECK (amount > 0),
        remaining INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
        priority INTEGER NOT NULL,
        effective_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER,
        expired INTEGER NOT NULL DEFAULT 0,
        cost_basis INTEGER NOT NULL,
        cost_basis_currency TEXT NOT NULL,
        source_key TEXT NOT NULL,
        subscription_id INTEGER,
        recurring_slot INTEGER,
        period_index INTEGER,
        UNIQUE (environment, source_key)
      );
      CREATE INDEX grants_by_customer ON grants (environment, customer_id, id);
      CREATE TABLE ledger_entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        grant_id INTEGER,
        kind TEXT NOT NULL CHECK (kind IN ('grant', 'debit', 'expiry', 'adjustment')),
        amount INTEGER NOT NULL,
        at_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        reference TEXT,
        idempotency_key TEXT
      );
      CREATE INDEX ledger_entries_by_customer ON ledger_entries (environment, customer_id, id);
      CREATE TABLE balances (
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        balance INTEGER NOT NULL,
        PRIMARY KEY (environment, customer_id, currency)
      );
      CREATE TABLE usage_totals (
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        feature TEXT NOT NULL,
        period_start_ms INTEGER NOT NULL,
        period_end_ms INTEGER NOT NULL,
        used INTEGER NOT NULL,
        PRIMARY KEY (environment, customer_id, feature, period_start_ms)
      );
      CREATE TABLE usage_events (
        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        key TEXT NOT NULL,
        feature TEXT NOT NULL,
        quantity INTEGER NOT NULL,
        time_ms INTEGER NOT NULL,
        received_at_ms INTEGER NOT NULL,
        credits_debited INTEGER NOT NULL,
        credits_shortfall INTEGER NOT NULL,
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
        version INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        PRIMARY KEY (environment, version)
      );
    `,
  },
];

/**
 * Applies every migration the database has not recorded, each in its own transaction.
 * Applied versions are looked up one by one rather than compared with the highest, since
 * separate lines of work number their migrations in separate ranges (100+, 200+).
 */
export function migrate(database: SqliteDatabase, nowMs: number): number {
  database.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)`);
  const applied = new Set(
    database
      .prepare<[], { version: number }>('SELECT version FROM schema_migrations')
      .all()
      .map((row) => row.version),
  );

  for (const migration of [...migrations, ...ledgerSqliteMigrations]) {
    if (applied.has(migration.version)) continue;
    database.exec('BEGIN IMMEDIATE');
    try {
      database.exec(migration.sql);
      database
        .prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)')
        .run(migration.version, migration.name, nowMs);
      database.exec('COMMIT');
    } catch (error) {
      database.exec('ROLLBACK');
      throw error;
    }
  }
  const versions = [...migrations, ...ledgerSqliteMigrations].map((entry) => entry.version);
  return Math.max(0, ...versions);
}
