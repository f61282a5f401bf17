import Database from 'better-sqlite3';
import pg from 'pg';
import type { LedgerHarness } from './ledger-fixtures.js';

/**
 * Runs one SQL statement on the harness's database over a second connection, past the
 * store's interface and its lazy rollover: to read what a path wrote and nothing more, or
 * to try a write the code never makes. Placeholders are `?`; rows come back as objects.
 */
export async function rawSql(
  harness: LedgerHarness,
  source: string,
  parameters: readonly unknown[] = [],
): Promise<Record<string, unknown>[]> {
  const { databasePath, databaseUrl } = harness.storeOptions;
  if (databasePath !== undefined) {
    const database = new Database(databasePath);
    try {
      const statement = database.prepare(source);
      if (statement.reader) return statement.all(...parameters) as Record<string, unknown>[];
      statement.run(...parameters);
      return [];
    } finally {
      database.close();
    }
  }
  const url = new URL(databaseUrl!);
  const schema = url.searchParams.get('schema')!;
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`SET search_path TO ${schema}`);
    let position = 0;
    const numbered = source.replace(/\?/g, () => `$${++position}`);
    return (await client.query(numbered, [...parameters])).rows;
  } finally {
    await client.end();
  }
}

/** A customer's entries as stored, oldest first: kind, amount, instant, actor. */
export async function storedEntries(harness: LedgerHarness, customer: string) {
  const rows = await rawSql(
    harness,
    `SELECT kind, amount, at_ms, actor FROM ledger_entries WHERE customer_id = ? ORDER BY id`,
    [customer],
  );
  return rows.map((row) => [row.kind, Number(row.amount), Number(row.at_ms), row.actor]);
}
