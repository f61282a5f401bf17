import { PostgresStore } from './postgres-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

export const defaultDatabasePath = './.tollgate/tollgate.sqlite';

/**
 * Opens the store the options name: PostgreSQL for a `postgres://` or `postgresql://` URL,
 * otherwise the SQLite file. An explicit `databasePath` wins over the environment, so a
 * test that names its file is never redirected by `TOLLGATE_DATABASE_URL`.
 */
export async function openStore(
  options: { databasePath?: string; databaseUrl?: string },
  nowMs: number,
): Promise<Store> {
  const url =
    options.databaseUrl ??
    (options.databasePath === undefined ? process.env.TOLLGATE_DATABASE_URL : undefined);
  if (url !== undefined && url !== '') {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new Error('databaseUrl must start with postgres:// or postgresql://');
    }
    return PostgresStore.open(url, nowMs);
  }
  return new SqliteStore(options.databasePath ?? defaultDatabasePath, nowMs);
}
