import type { Database as SqliteDatabase } from 'better-sqlite3';

/**
 * Migrations of the entitlement tables (issue #3), numbered from 200 so that they never
 * collide with other lines of work. Plain SQL types only, so that a PostgreSQL store can
 * take the same statements with BIGINT for the instants.
 *
 * Subscription history keeps the state in force from each change on (plan, version,
 * quantity and lifecycle instants), so that a past instant resolves from the state of
 * that instant, not from today's.
 *
 * A user holds at most one live seat: the partial unique index makes a second concurrent
 * assignment of the same user fail in the database, not only in the code.
 */
export const accountSqliteMigrations: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 200,
    name: 'entitlements: time zones, lifecycle, trials, overrides, users and seats',
    sql: `
      CREATE TABLE customer_settings (
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        time_zone TEXT,
        PRIMARY KEY (environment, customer_id)
      );
      CREATE TABLE subscription_lifecycle (
        environment TEXT NOT NULL,
        subscription_id INTEGER NOT NULL,
        past_due_since_ms INTEGER,
        paused_at_ms INTEGER,
        cancel_at_ms INTEGER,
        PRIMARY KEY (environment, subscription_id)
      );
      CREATE TABLE trials (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        trial TEXT NOT NULL,
        plan TEXT NOT NULL,
        plan_version INTEGER NOT NULL,
        starts_at_ms INTEGER NOT NULL,
        ends_at_ms INTEGER NOT NULL CHECK (ends_at_ms > starts_at_ms)
      );
      CREATE INDEX trials_by_customer ON trials (environment, customer_id, id);
      CREATE TABLE overrides (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        feature TEXT NOT NULL,
        access INTEGER NOT NULL,
        limit_value INTEGER,
        rule TEXT NOT NULL CHECK (rule IN ('sum', 'set', 'max', 'or')),
        starts_at_ms INTEGER,
        ends_at_ms INTEGER,
        reference TEXT,
        created_at_ms INTEGER NOT NULL
      );
      CREATE INDEX overrides_by_customer ON overrides (environment, customer_id, id);
      CREATE TABLE users (
        environment TEXT NOT NULL,
        id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        PRIMARY KEY (environment, id)
      );
      CREATE TABLE seat_assignments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        assigned_at_ms INTEGER NOT NULL,
        released_at_ms INTEGER
      );
      CREATE UNIQUE INDEX seat_assignments_live ON seat_assignments (environment, user_id)
        WHERE released_at_ms IS NULL;
      CREATE INDEX seat_assignments_by_customer
        ON seat_assignments (environment, customer_id, released_at_ms);
    `,
  },
  {
    version: 201,
    name: 'entitlements: published plan versions, by content hash',
    sql: `
      CREATE TABLE published_plan_versions (
        environment TEXT NOT NULL,
        plan TEXT NOT NULL,
        version INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        first_seen_at_ms INTEGER NOT NULL,
        PRIMARY KEY (environment, plan, version)
      );
    `,
  },
  {
    version: 202,
    name: 'entitlements: subscription history, one row per change',
    sql: `
      CREATE TABLE subscription_history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        environment TEXT NOT NULL,
        subscription_id INTEGER NOT NULL,
        effective_at_ms INTEGER NOT NULL,
        plan TEXT NOT NULL,
        plan_version INTEGER NOT NULL,
        quantity INTEGER NOT NULL,
        past_due_since_ms INTEGER,
        paused_at_ms INTEGER,
        cancel_at_ms INTEGER
      );
      CREATE INDEX subscription_history_by_subscription
        ON subscription_history (environment, subscription_id, effective_at_ms, id);
    `,
  },
  {
    version: 203,
    name: 'ledger: the instant recurring grants start again after a resume or plan change',
    sql: `ALTER TABLE subscription_lifecycle ADD COLUMN recurring_from_ms INTEGER;`,
  },
];

/**
 * Applies the migrations above that `schema_migrations` does not list, each in its own
 * transaction. Runs after the base migrations, which create that table.
 */
export function migrateAccounts(database: SqliteDatabase, nowMs: number): void {
  const applied = new Set(
    database
      .prepare<[], { version: number }>('SELECT version FROM schema_migrations')
      .all()
      .map((row) => row.version),
  );
  for (const migration of accountSqliteMigrations) {
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
}

/** The same tables for PostgreSQL: BIGINT instants and BIGSERIAL ids. */
export const accountPostgresMigrations: readonly { version: number; name: string; sql: string }[] =
  accountSqliteMigrations.map((migration) => ({
    ...migration,
    sql: migration.sql
      .replace(/INTEGER PRIMARY KEY AUTOINCREMENT/g, 'BIGSERIAL PRIMARY KEY')
      .replace(/(_ms|_id|_version|limit_value) INTEGER/g, '$1 BIGINT'),
  }));
