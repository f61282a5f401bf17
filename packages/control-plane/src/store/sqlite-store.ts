import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { migrateAccounts } from './account-migrations.js';
import { migrate } from './migrations.js';
import { SqliteTransaction } from './sqlite-transaction.js';
import type { Store, StoreTransaction } from './store.js';

/**
 * The SQLite store: one file, WAL journal, migrations applied on open.
 *
 * better-sqlite3 runs one connection synchronously, but `Store.transaction` takes
 * asynchronous work, so transactions are queued: each one starts (`BEGIN IMMEDIATE`) only
 * after the previous one committed or rolled back. That keeps them from interleaving on
 * the shared connection.
 */
export class SqliteStore implements Store {
  readonly #database: SqliteDatabase;
  #queueTail: Promise<unknown> = Promise.resolve();

  constructor(databasePath: string, nowMs: number) {
    if (databasePath !== ':memory:') mkdirSync(dirname(databasePath), { recursive: true });
    this.#database = new Database(databasePath, { timeout: 5_000 });
    this.#database.pragma('journal_mode = WAL');
    this.#database.pragma('synchronous = NORMAL');
    this.#database.pragma('foreign_keys = ON');
    migrate(this.#database, nowMs);
    migrateAccounts(this.#database, nowMs);
  }

  transaction<T>(environment: string, work: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.#database.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(new SqliteTransaction(this.#database, environment));
        this.#database.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.#database.inTransaction) this.#database.exec('ROLLBACK');
        throw error;
      }
    };
    const result = this.#queueTail.then(run, run);
    // The queue only orders transactions; a failure belongs to its caller alone.
    this.#queueTail = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    await this.#queueTail;
    if (this.#database.open) this.#database.close();
  }
}
