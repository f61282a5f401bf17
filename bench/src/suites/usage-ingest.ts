import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { request } from 'undici';
import { ManualClock } from '@tollgate/core';
import { loadCatalogFile } from '@tollgate/catalog';
import { createControlPlane } from '@tollgate/control-plane';
import { scratchDir } from '../fixtures/files.js';
import type { ResultRow } from '../lib/results.js';

const BATCH = 1000;
const CUSTOMERS = 50;
/** The example app's catalog: `api_tokens` is metered, `pro` gives it a soft limit. */
const catalogPath = fileURLToPath(
  new URL('../../../examples/ai-assistant/catalog.yaml', import.meta.url),
);

/**
 * The real control plane on SQLite (a file, WAL as it configures it), in this process,
 * fed pre-encoded msgpack batches one at a time as a runtime sends them. Idempotency is
 * on: every event has its own key, and a batch sent twice must come back all duplicates.
 */
export async function ingestIntoSqlite(eventCount: number, timeMaxMs: number) {
  const databasePath = join(scratchDir(), `ingest-${process.pid}.sqlite`);
  const clock = new ManualClock('2026-03-01T00:00:00Z');
  const plane = await createControlPlane({
    catalog: loadCatalogFile(catalogPath),
    databasePath,
    keys: [
      { key: 'tg_bench_admin', role: 'admin' },
      { key: 'tg_bench_runtime', role: 'runtime' },
    ],
    clock: clock.now,
    logger: false,
  });
  try {
    const url = await plane.listen({ port: 0, host: '127.0.0.1' });
    const send = async (method: 'POST', path: string, key: string, body: Buffer | object) => {
      const binary = Buffer.isBuffer(body);
      const response = await request(url + path, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': binary ? 'application/msgpack' : 'application/json',
        },
        body: binary ? body : JSON.stringify(body),
      });
      const answer = (await response.body.json()) as Record<string, unknown>;
      if (response.statusCode >= 300) throw new Error(`${path}: ${JSON.stringify(answer)}`);
      return answer;
    };
    for (let customer = 0; customer < CUSTOMERS; customer++) {
      await send('POST', '/v1/customers', 'tg_bench_admin', { id: `ingest_${customer}` });
      await send('POST', `/v1/customers/ingest_${customer}/subscriptions`, 'tg_bench_admin', {
        plan: 'pro',
      });
    }

    const packr = new Packr({ useRecords: false });
    const batches = Array.from({ length: Math.ceil(eventCount / BATCH) }, (_, batch) =>
      packr.pack({
        schema_version: 1,
        events: Array.from({ length: BATCH }, (_, index) => ({
          key: `ingest:${batch}:${index}`,
          customer: `ingest_${index % CUSTOMERS}`,
          feature: 'api_tokens',
          quantity: 1 + (index % 5),
          time: clock.now() + index,
        })),
      }),
    );

    // Bounded by time as well as by count, so a slow store cannot overrun the suite.
    const start = performance.now();
    let sent = 0;
    for (const batch of batches) {
      const ack = await send('POST', '/v1/usage', 'tg_bench_runtime', batch);
      if (ack['accepted'] !== BATCH) throw new Error(`ack ${JSON.stringify(ack)}`);
      sent += 1;
      if (performance.now() - start > timeMaxMs) break;
    }
    const seconds = (performance.now() - start) / 1000;
    const again = await send('POST', '/v1/usage', 'tg_bench_runtime', batches[0]!);
    if (again['duplicates'] !== BATCH) throw new Error(`resent batch: ${JSON.stringify(again)}`);

    const eventsPerSecond = (sent * BATCH) / seconds;
    const rows: ResultRow[] = [
      {
        case: `POST /v1/usage into SQLite, ${sent} batches of ${BATCH}, idempotency on`,
        subject: 'control plane',
        value: eventsPerSecond,
        unit: 'events/s',
      },
    ];
    return { rows, eventsPerSecond };
  } finally {
    await plane.close();
    rmSync(databasePath, { force: true });
    rmSync(`${databasePath}-wal`, { force: true });
    rmSync(`${databasePath}-shm`, { force: true });
  }
}
