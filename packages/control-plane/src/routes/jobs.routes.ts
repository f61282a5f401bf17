import type { FastifyInstance } from 'fastify';
import { formatInstant } from '../http/body.js';
import { runLedgerJobs } from '../ledger/ledger-jobs.js';
import type { RouteContext } from './route-context.js';

/**
 * `POST /v1/jobs/ledger`: runs the ledger's background job now for the key's environment
 * (expiries, recurring grants, rollovers, idempotency key retention). Admin keys only.
 * The control plane also runs it every `ledgerJobIntervalMs`.
 */
export function registerJobRoutes(
  app: FastifyInstance,
  context: RouteContext,
  idempotencyRetentionMs: number,
): void {
  app.post('/v1/jobs/ledger', async (request) => {
    const environment = request.principal.environment;
    const result = await runLedgerJobs(context, environment, idempotencyRetentionMs);
    return {
      customers: result.customers,
      purged_keys: result.purgedKeys,
      at: formatInstant(context.clock()),
    };
  });
}
