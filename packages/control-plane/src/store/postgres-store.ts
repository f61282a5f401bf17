import pg from 'pg';
import type { PoolClient } from 'pg';
import { TollgateError } from '@tollgate/core';
import { migratePostgres } from './postgres-migrations.js';
import { PostgresTransaction } from './postgres-transaction.js';
import type { Store, StoreTransaction } from './store.js';

/** Deadlock, serialization failure, unique violation: the transaction is run again. */
const retriedCodes = new Set(['40P01', '40001', '23505']);
const attemptsMax = 8;
const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The PostgreSQL store, for several control-plane processes sharing one database.
 *
 * Transactions run side by side on a pool of connections at READ COMMITTED. A ledger
 * write first locks its customer's row (`lockCustomer`, `SELECT … FOR UPDATE`), so writes
 * to one customer run one after another while other customers proceed in parallel. A
 * transaction that deadlocks or loses a race on a unique key is rolled back and run again,
 * up to eight times.
 *
 * The URL may name a schema (`postgres://…/test?schema=tollgate`): tables live there and
 * the schema is created on start, which lets tests and tenants share one database.
 */
export class PostgresStore implements Store {
  readonly #pool: pg.Pool;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  static async open(databaseUrl: string, nowMs: number): Promise<PostgresStore> {
    const url = new URL(databaseUrl);
    const schema = url.searchParams.get('schema') ?? 'public';
    if (!schemaPattern.test(schema)) {
      throw new Error(`schema must match ${schemaPattern.source}, got ${schema}`);
    }
    url.searchParams.delete('schema');
    const pool = new pg.Pool({
      connectionString: url.toString(),
      max: 10,
      options: `-c search_path=${schema}`,
      types: { getTypeParser: typeParser },
    });
    const client = await pool.connect();
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await migratePostgres(client, schema, nowMs);
    } catch (error) {
      client.release();
      await pool.end();
      throw error;
    }
    client.release();
    return new PostgresStore(pool);
  }

  async transaction<T>(
    environment: string,
    work: (tx: StoreTransaction) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const client = await this.#pool.connect();
      try {
        return await runOnce(client, environment, work);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (attempt >= attemptsMax || typeof code !== 'string' || !retriedCodes.has(code)) {
          throw error;
        }
      } finally {
        client.release();
      }
      // A short random pause keeps two retrying transactions from meeting again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

async function runOnce<T>(
  client: PoolClient,
  environment: string,
  work: (tx: StoreTransaction) => Promise<T>,
): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work(new PostgresTransaction(client, environment));
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

/**
 * BIGINT (20) and NUMERIC (1700, what `sum` returns) arrive as text. They become numbers
 * only when exact: a stored value above 2^53 − 1 is refused rather than rounded.
 */
function typeParser(oid: number, format?: string): (text: string) => unknown {
  if (oid === 20 || oid === 1700) return safeInteger;
  return pg.types.getTypeParser(oid, format as 'text');
}

function safeInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new TollgateError('TOLLGATE_ERR_INTERNAL', 'A stored number is not exact', {
      detail: `${text} is outside the safe integer range`,
    });
  }
  return value;
}
