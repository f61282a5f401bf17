import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The test server: PostgreSQL 15 on 127.0.0.1:5432, trust auth, database `test`. */
export const postgresBaseUrl =
  process.env.TOLLGATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  name: string;
  /** The base URL with `?schema=<name>`: what `databaseUrl` takes. */
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh schema name per call, so parallel test files and reruns never share tables. The
 * store creates the schema on open; `drop` removes it with everything in it.
 */
export function testSchema(label: string): TestSchema {
  const name = `tg_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
  return {
    name,
    url: `${postgresBaseUrl}?schema=${name}`,
    async drop() {
      const client = new pg.Client({ connectionString: postgresBaseUrl });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
