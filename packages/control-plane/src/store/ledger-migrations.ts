/**
 * SQLite migrations of the credit ledger (issue #4), numbered from 100 so that they never
 * collide with other work's numbers. `postgres-migrations.ts` holds the same schema for
 * PostgreSQL.
 *
 * 100 rebuilds `ledger_entries`, because SQLite cannot alter a CHECK constraint: the new
 * kinds `void` and `refund`, the `debit_id` that ties debit and refund entries to their
 * debit, a ban on zero amounts, and triggers that refuse any UPDATE or DELETE, so the
 * ledger is append-only in the database itself and not only by the code's good manners.
 */
export const ledgerSqliteMigrations: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 100,
    name: 'ledger: void and refund entries, debits, append-only entries, idempotency claims',
    sql: `
      CREATE TABLE ledger_entries_v100 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        grant_id INTEGER,
        debit_id INTEGER,
        kind TEXT NOT NULL
          CHECK (kind IN ('grant', 'debit', 'expiry', 'void', 'refund', 'adjustment')),
        amount INTEGER NOT NULL CHECK (amount <> 0),
        at_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        reference TEXT,
        idempotency_key TEXT
      );
      INSERT INTO ledger_entries_v100 (id, environment, customer_id, currency, grant_id, kind,
        amount, at_ms, actor, reference, idempotency_key)
      SELECT id, environment, customer_id, currency, grant_id, kind, amount, at_ms, actor,
        reference, idempotency_key FROM ledger_entries;
      DROP TABLE ledger_entries;
      ALTER TABLE ledger_entries_v100 RENAME TO ledger_entries;
      CREATE INDEX ledger_entries_by_customer ON ledger_entries (environment, customer_id, id);
      CREATE INDEX ledger_entries_by_grant ON ledger_entries (environment, grant_id);
      CREATE INDEX ledger_entries_by_debit ON ledger_entries (environment, debit_id);
      CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
      CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;

      ALTER TABLE grants ADD COLUMN voided_at_ms INTEGER;

      CREATE TABLE debits (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        environment TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        requested INTEGER NOT NULL CHECK (requested > 0),
        debited INTEGER NOT NULL CHECK (debited >= 0 AND debited <= requested),
        overage INTEGER NOT NULL CHECK (overage >= 0),
        shortfall INTEGER NOT NULL CHECK (shortfall >= 0),
        at_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        reference TEXT,
        idempotency_key TEXT
      );
      CREATE INDEX debits_by_customer ON debits (environment, customer_id, id);

      ALTER TABLE idempotency_keys ADD COLUMN state TEXT NOT NULL DEFAULT 'done'
        CHECK (state IN ('pending', 'done'));
      ALTER TABLE idempotency_keys ADD COLUMN claim_token TEXT;
      ALTER TABLE idempotency_keys ADD COLUMN created_at_ms INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX idempotency_keys_by_age ON idempotency_keys (environment, created_at_ms);
    `,
  },
  {
    version: 101,
    name: 'ledger: indexes for open grants and per-currency sums',
    sql: `
      CREATE INDEX grants_open ON grants (environment, customer_id, id)
        WHERE expired = 0 AND voided_at_ms IS NULL;
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
