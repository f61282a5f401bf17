import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { loadCatalogFile } from '@tollgate/catalog';
import type { ResultRow } from '../lib/results.js';
import { ADMIN_KEY, RUNTIME_KEY, expectOk, startPlane } from '../servers/control-plane.js';
import type { StoreKind } from '../servers/control-plane.js';

const BATCH = 1000;
const CUSTOMERS = 50;
/** The example app's catalog: `api_tokens` is metered, `pro` gives it a soft limit. */
const catalogPath = fileURLToPath(
  new URL('../../../examples/ai-assistant/catalog.yaml', import.meta.url),
);
const storeNames: Record<StoreKind, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

/**
 * The real control plane on SQLite (a file, WAL as it configures it) or PostgreSQL (a fresh
 * schema), in this process, fed pre-encoded msgpack batches one at a time as a runtime
 * sends them. Idempotency is on: every event has its own key, and a batch sent twice must
 * come back all duplicates. Bounded by time as well as by count.
 */
export async function ingestInto(store: StoreKind, eventCount: number, timeMaxMs: number) {
  const plane = await startPlane(store, loadCatalogFile(catalogPath));
  try {
    for (let customer = 0; customer < CUSTOMERS; customer++) {
      const id = `ingest_${customer}`;
      await expectOk(plane, 'POST', '/v1/customers', ADMIN_KEY, { id });
      await expectOk(plane, 'POST', `/v1/customers/${id}/subscriptions`, ADMIN_KEY, {
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
          time: plane.clock.now() + index,
        })),
      }),
    );

    const start = performance.now();
    let sent = 0;
    for (const batch of batches) {
      const ack = await expectOk(plane, 'POST', '/v1/usage', RUNTIME_KEY, batch);
      if (ack['accepted'] !== BATCH) throw new Error(`ack ${JSON.stringify(ack)}`);
      sent += 1;
      if (performance.now() - start > timeMaxMs) break;
    }
    const seconds = (performance.now() - start) / 1000;
    const again = await expectOk(plane, 'POST', '/v1/usage', RUNTIME_KEY, batches[0]!);
    if (again['duplicates'] !== BATCH) throw new Error(`resent batch: ${JSON.stringify(again)}`);

    const eventsPerSecond = (sent * BATCH) / seconds;
    const rows: ResultRow[] = [
      {
        case: `POST /v1/usage, batches of ${BATCH}, idempotency on`,
        subject: `control plane on ${storeNames[store]}`,
        value: eventsPerSecond,
        unit: 'events/s',
      },
    ];
    return { rows, eventsPerSecond, batches: sent };
  } finally {
    await plane.close();
  }
}
