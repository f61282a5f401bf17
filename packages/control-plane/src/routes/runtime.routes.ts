import type { FastifyInstance } from 'fastify';
import { Packr } from 'msgpackr';
import { TollgateError, parseQuantity } from '@tollgate/core';
import type { SnapshotStreamHub } from '../snapshot/snapshot-stream.js';
import { parseUsageBatch } from '../usage/usage-batch.js';
import { ingestUsage } from '../usage/ingest-usage.js';
import { defaultUsageTimePolicy, partitionByTime } from '../usage/usage-time.js';
import type { RejectedEvent } from '../usage/usage-time.js';
import type { RouteContext } from './route-context.js';

const packr = new Packr({ useRecords: false });

/** Parses `if-none-match: "<version>"`, the quotes optional; NaN when absent or malformed. */
function heldVersion(header: string | undefined): number {
  const match = header === undefined ? null : /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  return match?.[1] === undefined ? NaN : Number(match[1]);
}

/**
 * An event whose key was recorded with another payload: a reuse of the key, not a retry,
 * which a runtime does not repeat, so it is rejected rather than counted as a duplicate.
 */
function mismatchRejection(index: number, key: string): RejectedEvent {
  const field = `events[${index}].key`;
  const error = new TollgateError(
    'TOLLGATE_ERR_IDEMPOTENCY_MISMATCH',
    `${field}: ${key} was recorded before with another feature, quantity or time`,
    { field },
  );
  return { index, key, code: error.code, message: error.message };
}

/** `GET /v1/snapshot` and `POST /v1/usage`, for runtime and admin keys. */
export function registerRuntimeRoutes(app: FastifyInstance, context: RouteContext): void {
  const roles = ['admin', 'runtime'] as const;

  app.get('/v1/snapshot', { config: { roles } }, async (request, reply) => {
    const snapshot = await context.snapshots.current(request.principal.environment);
    const etag = `"${snapshot.version}"`;
    reply.header('tollgate-snapshot-version', String(snapshot.version)).header('etag', etag);
    if (heldVersion(request.headers['if-none-match']) === snapshot.version) {
      return reply.status(304).send();
    }
    return reply
      .type('application/octet-stream')
      .send(Buffer.from(snapshot.bytes.buffer, snapshot.bytes.byteOffset, snapshot.bytes.length));
  });

  app.post('/v1/usage', { config: { roles } }, async (request) => {
    const events = parseUsageBatch(request.body, context.catalog);
    const actor = request.principal.role === 'runtime' ? 'runtime' : request.principal.keyId;
    const nowMs = context.clock();
    const policy = context.usageTime ?? defaultUsageTimePolicy;
    const { kept, rejected } = partitionByTime(events, policy, nowMs);
    const environment = request.principal.environment;
    const keptEvents = kept.map((entry) => entry.event);
    const result = await context.store.transaction(environment, (tx) =>
      ingestUsage(tx, context.catalog, keptEvents, { nowMs, actor }),
    );
    await context.afterUsage?.(environment, keptEvents, result);
    // Sequences line up with the batch as sent; a rejected event has none.
    const sequences: (number | null)[] = events.map(() => null);
    kept.forEach((entry, position) => {
      sequences[entry.index] = result.sequences[position] ?? null;
    });
    for (const position of result.mismatched) {
      const entry = kept[position]!;
      rejected.push(mismatchRejection(entry.index, entry.event.key));
    }
    rejected.sort((a, b) => a.index - b.index);
    return { accepted: result.accepted, duplicates: result.duplicates, rejected, sequences };
  });
}

/**
 * `GET /v1/snapshot/delta?since=V` (the customers changed after V, msgpack) and
 * `GET /v1/snapshot/stream` (server-sent events naming each newer version).
 */
export function registerSnapshotStreamRoutes(
  app: FastifyInstance,
  context: RouteContext,
  hub: SnapshotStreamHub,
): void {
  const roles = ['admin', 'runtime'] as const;

  app.get<{ Querystring: { since?: string } }>(
    '/v1/snapshot/delta',
    { config: { roles } },
    async (request, reply) => {
      const since = parseQuantity(Number(request.query.since), 'since');
      const delta = await context.snapshots.delta(request.principal.environment, since);
      // 204 tells the runtime to fetch the full snapshot: this process cannot diff from V.
      if (delta === null) return reply.status(204).send();
      return reply.type('application/msgpack').send(packr.pack(delta));
    },
  );

  app.get('/v1/snapshot/stream', { config: { roles } }, async (request, reply) => {
    reply.hijack();
    hub.subscribe(request.principal.environment, reply.raw);
  });
}
