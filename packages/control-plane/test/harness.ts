import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { loadCatalogFile } from '@tollgate/catalog';
import type { Catalog } from '@tollgate/catalog';
import { ManualClock } from '@tollgate/core';
import { createControlPlane } from '../src/index.js';
import type { ControlPlane } from '../src/index.js';

export const adminKey = 'admin-test-key';
export const runtimeKey = 'runtime-test-key';
export const liveAdminKey = 'admin-live-key';

const catalogPath = fileURLToPath(
  new URL('../../../examples/ai-assistant/catalog.yaml', import.meta.url),
);
const packr = new Packr({ useRecords: false });

export interface Harness {
  plane: ControlPlane;
  clock: ManualClock;
  baseUrl: string;
  databasePath: string;
  call(method: string, path: string, body?: unknown, key?: string): Promise<Reply>;
  postUsage(events: unknown[], key?: string): Promise<Reply>;
  postRaw(path: string, body: Uint8Array, contentType: string, key?: string): Promise<Reply>;
  close(): Promise<void>;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
  bytes: Uint8Array;
}

export interface HarnessOptions {
  /** The Quillstone catalog when absent. */
  catalog?: Catalog;
  /** A PostgreSQL URL (with `?schema=`); a SQLite file in a temp directory when absent. */
  databaseUrl?: string;
  /** Passed to `createControlPlane`; its 30-day default when absent. */
  idempotencyRetentionMs?: number;
  /** Passed to `createControlPlane`; its 10-second default when absent. */
  streamHeartbeatIntervalMs?: number;
}

/** A control plane on a real SQLite file in a temp directory, listening on 127.0.0.1:0. */
export async function startHarness(start: string, options: HarnessOptions = {}): Promise<Harness> {
  const directory = mkdtempSync(join(tmpdir(), 'tollgate-cp-'));
  const databasePath = join(directory, 'tollgate.sqlite');
  const clock = new ManualClock(start);
  const plane = await createControlPlane({
    catalog: options.catalog ?? loadCatalogFile(catalogPath),
    ...(options.databaseUrl === undefined
      ? { databasePath }
      : { databaseUrl: options.databaseUrl }),
    clock: clock.now,
    ...(options.idempotencyRetentionMs === undefined
      ? {}
      : { idempotencyRetentionMs: options.idempotencyRetentionMs }),
    ...(options.streamHeartbeatIntervalMs === undefined
      ? {}
      : { streamHeartbeatIntervalMs: options.streamHeartbeatIntervalMs }),
    logger: false,
    keys: [
      { key: adminKey, role: 'admin' },
      { key: runtimeKey, role: 'runtime' },
      { key: liveAdminKey, role: 'admin', environment: 'live' },
    ],
  });
  const baseUrl = await plane.listen({ port: 0, host: '127.0.0.1' });

  const send = async (method: string, path: string, init: RequestInit): Promise<Reply> => {
    const response = await fetch(`${baseUrl}${path}`, { method, ...init });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const isJson = response.headers.get('content-type')?.includes('json') ?? false;
    const body = isJson ? JSON.parse(new TextDecoder().decode(bytes)) : undefined;
    return { status: response.status, headers: response.headers, body, bytes };
  };
  const authorization = (key?: string) => (key === '' ? {} : { authorization: `Bearer ${key}` });

  return {
    plane,
    clock,
    baseUrl,
    databasePath,
    call: (method, path, body, key = adminKey) =>
      send(method, path, {
        headers: {
          ...authorization(key),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    postUsage: (events, key = runtimeKey) =>
      send('POST', '/v1/usage', {
        headers: { ...authorization(key), 'content-type': 'application/msgpack' },
        body: packr.pack({ schema_version: 1, events }),
      }),
    postRaw: (path, body, contentType, key = runtimeKey) =>
      send('POST', path, {
        headers: { ...authorization(key), 'content-type': contentType },
        body,
      }),
    async close() {
      await plane.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** `count` usage events with keys `<prefix>-0`, `<prefix>-1`…, each of quantity 1. */
export function events(
  prefix: string,
  customer: string,
  feature: string,
  count: number,
  time: number,
) {
  return Array.from({ length: count }, (_, index) => ({
    key: `${prefix}-${index}`,
    customer,
    feature,
    quantity: 1,
    time,
  }));
}
