import type { FastifyInstance } from 'fastify';
import { parseUsageBatch } from '../usage/usage-batch.js';
import { ingestUsage } from '../usage/ingest-usage.js';
import type { RouteContext } from './route-context.js';

/** Parses `if-none-match: "<version>"`, the quotes optional; NaN when absent or malformed. */
function heldVersion(header: string | undefined): number {
  const match = header === undefined ? null : /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  return match?.[1] === undefined ? NaN : Number(match[1]);
}

/** The two routes a runtime key may call: `GET /v1/snapshot` and `POST /v1/usage`. */
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
    return context.store.transaction(request.principal.environment, (tx) =>
      ingestUsage(tx, context.catalog, events, { nowMs, actor }),
    );
  });
}
