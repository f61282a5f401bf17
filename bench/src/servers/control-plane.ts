import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { ManualClock } from '@tollgate/core';
import type { Catalog } from '@tollgate/catalog';
import { createControlPlane } from '@tollgate/control-plane';
import { scratchDir } from '../fixtures/files.js';

export type StoreKind = 'sqlite' | 'postgres';

/** The machine's PostgreSQL 15: 127.0.0.1:5432, trust auth, database `test`. */
export const postgresBaseUrl =
  process.env['TOLLGATE_BENCH_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export const ADMIN_KEY = 'tg_bench_admin';
export const RUNTIME_KEY = 'tg_bench_runtime';

/** A reply: the status and the parsed JSON body. */
export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** The real control plane in this process, listening on 127.0.0.1, on either store. */
export interface BenchPlane {
  url: string;
  clock: ManualClock;
  /** Sends JSON (an object) or msgpack (a Buffer) with the given key; never throws on 4xx. */
  call(method: 'GET' | 'POST', path: string, key: string, body?: object | Buffer): Promise<Reply>;
  close(): Promise<void>;
}

/**
 * Starts a control plane on a fresh SQLite file in the scratch folder, or on a fresh
 * PostgreSQL schema; `close` removes the file or drops the schema.
 */
export async function startPlane(store: StoreKind, catalog: Catalog): Promise<BenchPlane> {
  const clock = new ManualClock('2026-03-01T00:00:00Z');
  const label = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const databasePath = join(scratchDir(), `plane-${label}.sqlite`);
  const schema = `tg_bench_${label}`;
  const plane = await createControlPlane({
    catalog,
    ...(store === 'sqlite'
      ? { databasePath }
      : { databaseUrl: `${postgresBaseUrl}?schema=${schema}` }),
    keys: [
      { key: ADMIN_KEY, role: 'admin' },
      { key: RUNTIME_KEY, role: 'runtime' },
    ],
    clock: clock.now,
    logger: false,
  });
  const cleanUp = async () => {
    if (store === 'sqlite') {
      for (const suffix of ['', '-wal', '-shm']) rmSync(databasePath + suffix, { force: true });
      return;
    }
    const client = new pg.Client({ connectionString: postgresBaseUrl });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await client.end();
    }
  };
  let url: string;
  try {
    url = await plane.listen({ port: 0, host: '127.0.0.1' });
  } catch (error) {
    await plane.close();
    await cleanUp();
    throw error;
  }
  return {
    url,
    clock,
    async call(method, path, key, body) {
      const binary = Buffer.isBuffer(body);
      const response = await request(url + path, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined
            ? {}
            : { 'content-type': binary ? 'application/msgpack' : 'application/json' }),
        },
        ...(body === undefined ? {} : { body: binary ? body : JSON.stringify(body) }),
      });
      const text = await response.body.text();
      const parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
      return { status: response.statusCode, body: parsed };
    },
    async close() {
      try {
        await plane.close();
      } finally {
        await cleanUp();
      }
    },
  };
}

/** Like `call`, but a status of 300 or more is an error naming the path and the body. */
export async function expectOk(
  plane: BenchPlane,
  method: 'GET' | 'POST',
  path: string,
  key: string,
  body?: object | Buffer,
): Promise<Record<string, unknown>> {
  const reply = await plane.call(method, path, key, body);
  if (reply.status >= 300)
    throw new Error(`${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}
