import { Packr, unpack } from 'msgpackr';
import { createTollgate } from '@tollgate/runtime';
import { FEATURE, NOW_MS, customerId, features, hasAccess } from '../fixtures/fixture.js';
import { snapshotFile } from '../fixtures/files.js';
import { startStandIn } from '../servers/stand-in.js';
import { sink, timeLoops } from '../lib/measure.js';
import type { SuiteContext } from '../lib/options.js';
import { ratiosAgainst, target } from '../lib/results.js';
import type { ResultRow, SuiteResult, TargetCheck } from '../lib/results.js';
import { ingestInto } from './usage-ingest.js';

const BATCH = 1000;
const METER = features[FEATURE.apiCalls]!.key;

/** A batch as the runtime queues it: `<runtimeId>:<seq>` keys, one customer in ten. */
function batchOf(start: number) {
  return Array.from({ length: BATCH }, (_, index) => ({
    key: `rt_bench:${start + index}`,
    customer: customerId((start + index) % 97),
    feature: METER,
    quantity: 1 + (index % 7),
    time: NOW_MS + index,
  }));
}

/**
 * The wire encoding of one batch: msgpack with the runtime's settings (the client's
 * Packr is internal, so the same options are used here), against JSON.stringify.
 */
async function encodeRows(timeMs: number): Promise<ResultRow[]> {
  const packr = new Packr({ useRecords: false });
  const events = batchOf(0);
  const body = { schema_version: 1, events };
  const decoded = unpack(packr.pack(body)) as typeof body;
  if (JSON.stringify(decoded) !== JSON.stringify(body))
    throw new Error('msgpack round trip differs');
  const timings = await timeLoops(
    [
      { name: 'msgpack', operations: 1, run: () => void (sink.value += packr.pack(body).length) },
      { name: 'json', operations: 1, run: () => void (sink.value += JSON.stringify(body).length) },
    ],
    timeMs,
  );
  const caseName = `encode a batch of ${BATCH} events`;
  const rows: ResultRow[] = [
    {
      case: caseName,
      subject: 'msgpack (runtime settings)',
      value: timings.get('msgpack')!.nsMedian / 1e6,
      unit: 'ms',
    },
    {
      case: caseName,
      subject: 'JSON.stringify',
      value: timings.get('json')!.nsMedian / 1e6,
      unit: 'ms',
    },
  ];
  ratiosAgainst(rows, 'JSON.stringify');
  return rows;
}

/**
 * Events through the runtime's whole usage path: `consume` records and queues them, the
 * batcher encodes and posts them to a stand-in on 127.0.0.1, `flush` awaits every ack.
 * The stand-in runs in this process too, so its decoding is inside the figure.
 */
async function runtimeRows(eventCount: number): Promise<ResultRow[]> {
  const standIn = await startStandIn(snapshotFile(10_000));
  const tollgate = await createTollgate({
    controlPlaneUrl: standIn.url,
    apiKey: 'bench',
    clock: () => NOW_MS,
    refreshIntervalMs: 0,
    batch: { maxEvents: BATCH, maxDelayMs: 50 },
    bufferMax: eventCount * 2,
  });
  const ids = Array.from({ length: 2000 }, (_, customer) => customer)
    .filter((customer) => hasAccess(customer, FEATURE.apiCalls))
    .slice(0, 1000)
    .map(customerId);
  try {
    // The same decisions without recording, as the baseline the recording cost is read from.
    // Two rounds: the first warms the shared path up, the second is timed.
    let checkNs = NaN;
    for (let round = 0; round < 2; round++) {
      const checkStart = performance.now();
      for (let index = 0; index < eventCount; index++) {
        const decision = tollgate.check(ids[index % ids.length]!, METER, 1);
        if (!decision.allowed) throw new Error(`check refused: ${decision.reasonName}`);
      }
      checkNs = ((performance.now() - checkStart) * 1e6) / eventCount;
    }

    const start = performance.now();
    for (let index = 0; index < eventCount; index++) {
      const decision = tollgate.consume(ids[index % ids.length]!, METER, 1);
      if (!decision.allowed) throw new Error(`consume refused: ${decision.reasonName}`);
    }
    const queuedMs = performance.now() - start;
    await tollgate.flush();
    const totalMs = performance.now() - start;
    if (standIn.eventsReceived !== eventCount) {
      throw new Error(`the stand-in received ${standIn.eventsReceived} of ${eventCount} events`);
    }
    const consumeNs = (queuedMs * 1e6) / eventCount;
    const perEvent = `per event, ${eventCount} events over 1,000 customers`;
    return [
      { case: perEvent, subject: 'runtime.check (baseline)', value: checkNs, unit: 'ns' },
      {
        case: perEvent,
        subject: 'runtime.consume: decide, record, queue',
        value: consumeNs,
        unit: 'ns',
        ratio: consumeNs / checkNs,
        versus: 'runtime.check (baseline)',
      },
      {
        case: perEvent,
        subject: 'recording alone (consume − check)',
        value: consumeNs - checkNs,
        unit: 'ns',
      },
      {
        case: `runtime usage path to a 127.0.0.1 stand-in, flushed (${eventCount} events)`,
        subject: 'runtime (Wasm)',
        value: eventCount / (totalMs / 1000),
        unit: 'events/s',
      },
    ];
  } finally {
    await tollgate.close();
    await standIn.close();
  }
}

export async function runUsage(context: SuiteContext): Promise<SuiteResult> {
  const started = Date.now();
  const rows = await encodeRows(context.quick ? 150 : 400);
  rows.push(...(await runtimeRows(context.quick ? 20_000 : 100_000)));
  const notes: string[] = [];
  const rates: Record<'sqlite' | 'postgres', number> = { sqlite: NaN, postgres: NaN };
  for (const store of ['sqlite', 'postgres'] as const) {
    try {
      const ingest = await ingestInto(
        store,
        context.quick ? 10_000 : 100_000,
        context.quick ? 3000 : 10_000,
      );
      rows.push(...ingest.rows);
      rates[store] = ingest.eventsPerSecond;
      notes.push(`Ingestion into ${store}: ${ingest.batches} batches within the time bound.`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      notes.push(`FAILED: ingestion into ${store}: ${message}`);
    }
  }
  const ingestRows = rows.filter((row) => row.case.startsWith('POST /v1/usage'));
  if (ingestRows.length === 2) ratiosAgainst(ingestRows, ingestRows[0]!.subject);
  notes.push('Ingestion ratios are PostgreSQL over SQLite in the same run: above 1 is faster.');
  const encodeMs = rows.find((row) => row.subject.startsWith('msgpack'))!.value;
  const recordNs = rows.find((row) => row.subject.startsWith('recording alone'))!.value;
  const targets: TargetCheck[] = [
    target(`encode a batch of ${BATCH}`, encodeMs, 0.5, 'ms', 'at most'),
    target('per event to aggregate (recording alone)', recordNs, 10, 'ns', 'at most'),
    target('ingestion into SQLite', rates.sqlite, 100_000, 'events/s', 'at least'),
    target('ingestion into PostgreSQL', rates.postgres, 50_000, 'events/s', 'at least'),
  ];
  return {
    suite: 'usage',
    title: 'Usage path',
    budgetMs: context.budgetMs,
    elapsedMs: Date.now() - started,
    inputs:
      `batches of ${BATCH} events of a metered feature (key, customer, feature, quantity, ` +
      'time); the runtime path consumes from a 10k-customer snapshot; ingestion posts ' +
      'pre-encoded msgpack batches with unique idempotency keys to POST /v1/usage',
    rows,
    targets,
    notes,
  };
}
