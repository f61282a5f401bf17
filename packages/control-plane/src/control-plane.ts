import Fastify, { LogController } from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { LoggerOptions } from 'pino';
import type { Catalog } from '@tollgate/catalog';
import { TollgateError, systemClock } from '@tollgate/core';
import type { Clock } from '@tollgate/core';
import { registerAuthentication } from './http/auth.js';
import type { ApiKeyOptions } from './http/auth.js';
import type { RouteContext } from './routes/route-context.js';
import { registerErrorHandling } from './http/error-handler.js';
import { registerAccountRoutes } from './routes/accounts.routes.js';
import { registerEntitlementRouteGroup } from './routes/entitlement-group.js';
import { registerCreditRoutes } from './routes/credits.routes.js';
import { registerCustomerRoutes } from './routes/customers.routes.js';
import { registerRuntimeRoutes, registerSnapshotStreamRoutes } from './routes/runtime.routes.js';
import { registerLeaseRoutes } from './routes/leases.routes.js';
import { SnapshotService } from './snapshot/snapshot-service.js';
import { SnapshotStreamHub } from './snapshot/snapshot-stream.js';
import { createLeaseService } from './leases/create-lease-service.js';
import type { LeaseOptions } from './leases/create-lease-service.js';
import { defaultUsageTimePolicy } from './usage/usage-time.js';
import type { UsageTimePolicy } from './usage/usage-time.js';
import { openStore } from './store/open-store.js';
import { checkPublishedVersions } from './published-versions.js';
import { registerLedgerRoutes } from './routes/ledger.routes.js';
import { registerJobRoutes } from './routes/jobs.routes.js';
import { idempotencyRetentionMinMs, scheduleLedgerJobs } from './ledger/ledger-jobs.js';

export interface ControlPlaneOptions {
  catalog: Catalog;
  /** The SQLite file; `:memory:` keeps everything in memory. */
  databasePath?: string;
  /**
   * A PostgreSQL URL, `postgres://user@host:5432/db?schema=name`; wins over
   * `databasePath`. When neither is given, `TOLLGATE_DATABASE_URL` is read.
   */
  databaseUrl?: string;
  /** How long finished idempotency keys are kept: at least, and by default, 30 days. */
  idempotencyRetentionMs?: number;
  /** Runs the ledger job (expiry, rollover, key retention) this often; 0 (default): never. */
  ledgerJobIntervalMs?: number;
  keys: readonly ApiKeyOptions[];
  /** Every time-dependent answer reads this clock; tests pass a `ManualClock`'s `now`. */
  clock?: Clock;
  /** pino options, or false for silence. Nothing is logged per request at info level. */
  logger?: LoggerOptions | false;
  /** Accepted event times around now: 5 minutes ahead and 24 hours behind by default. */
  usageTime?: Partial<UsageTimePolicy>;
  /** Lease accounting: in memory by default, in Redis when `redisUrl` is given. */
  leases?: LeaseOptions;
  /** How often open snapshot streams are checked for a newer version (default 5000). */
  streamCheckIntervalMs?: number;
  /** How often open streams get a heartbeat with the current version (default 10000). */
  streamHeartbeatIntervalMs?: number;
}

export interface ControlPlane {
  app: FastifyInstance;
  /** Starts listening and resolves to the base URL, e.g. `http://127.0.0.1:4100`. */
  listen(address: { port: number; host?: string }): Promise<string>;
  close(): Promise<void>;
}

export { defaultDatabasePath } from './store/open-store.js';
const usageBodyMaxBytes = 4 * 1024 * 1024;

/**
 * Creates the control-plane HTTP server: opens (and migrates) the store, registers the
 * `/v1` routes, and authenticates every request by API key.
 *
 * @example
 * ```ts
 * const plane = await createControlPlane({
 *   catalog: loadCatalogFile('catalog.yaml'),
 *   keys: [{ key: process.env.TOLLGATE_ADMIN_KEY!, role: 'admin' }],
 * });
 * const baseUrl = await plane.listen({ port: 4100, host: '127.0.0.1' });
 * ```
 */
export async function createControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  if (options.keys.length === 0) throw new Error('createControlPlane needs at least one API key');
  const clock = options.clock ?? systemClock;
  const retentionMs = options.idempotencyRetentionMs ?? idempotencyRetentionMinMs;
  if (!(retentionMs >= idempotencyRetentionMinMs)) {
    throw new TollgateError(
      'TOLLGATE_ERR_VALIDATION',
      'idempotencyRetentionMs: expected at least 30 days (2592000000 ms)',
      { field: 'idempotencyRetentionMs' },
    );
  }
  const heartbeatMs = options.streamHeartbeatIntervalMs ?? 10_000;
  if (!Number.isSafeInteger(heartbeatMs) || heartbeatMs < 100) {
    // A heartbeat is a message to every open stream; a few per second is already plenty.
    throw new TollgateError(
      'TOLLGATE_ERR_VALIDATION',
      'streamHeartbeatIntervalMs: expected a whole number of at least 100 ms',
      { field: 'streamHeartbeatIntervalMs' },
    );
  }
  const store = await openStore(options, clock());
  try {
    const environments = [...new Set(options.keys.map((key) => key.environment ?? 'test'))];
    await checkPublishedVersions(store, options.catalog, environments, clock());
  } catch (error) {
    await store.close();
    throw error;
  }
  const app = Fastify({
    logger: options.logger ?? { level: 'info' },
    // Per-request logs are off; one debug line per response is written below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: usageBodyMaxBytes,
  });

  app.addContentTypeParser('application/msgpack', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );
  app.addHook('onResponse', async (request, reply) => {
    request.log.debug(
      { method: request.method, url: request.url, status: reply.statusCode },
      'request completed',
    );
  });
  app.addHook('onClose', async () => store.close());

  registerErrorHandling(app);
  registerAuthentication(app, options.keys);
  const snapshots = new SnapshotService(options.catalog, store, clock);
  const hub = new SnapshotStreamHub(snapshots, options.streamCheckIntervalMs ?? 5000, heartbeatMs);
  const leases = createLeaseService(options.catalog, store, options.leases ?? {});
  const usageTime = { ...defaultUsageTimePolicy, ...options.usageTime };
  const routeContext: RouteContext = {
    catalog: options.catalog,
    store,
    clock,
    snapshots,
    usageTime,
  };
  routeContext.afterUsage = async (environment, events, result) => {
    await leases.recordUsage(environment, events, result);
    hub.poke(environment);
  };
  // Any successful write may change a snapshot; the hub coalesces the pokes.
  app.addHook('onResponse', async (request, reply) => {
    if (request.method !== 'GET' && reply.statusCode < 300) hub.poke(request.principal.environment);
  });
  app.addHook('preClose', async () => hub.close());
  app.addHook('onClose', async () => leases.book.close());
  registerCustomerRoutes(app, routeContext);
  registerCreditRoutes(app, routeContext);
  registerAccountRoutes(app, routeContext);
  registerEntitlementRouteGroup(app, routeContext);
  registerLedgerRoutes(app, routeContext);
  registerJobRoutes(app, routeContext, retentionMs);
  if ((options.ledgerJobIntervalMs ?? 0) > 0) {
    const environments = [...new Set(options.keys.map((key) => key.environment ?? 'test'))];
    const schedule = { environments, intervalMs: options.ledgerJobIntervalMs ?? 0, retentionMs };
    const stop = scheduleLedgerJobs(routeContext, schedule, (error) =>
      app.log.error({ err: error }, 'ledger job failed'),
    );
    app.addHook('onClose', async () => stop());
  }
  registerRuntimeRoutes(app, routeContext);
  registerSnapshotStreamRoutes(app, routeContext, hub);
  registerLeaseRoutes(app, routeContext, leases);
  await app.ready();

  return {
    app,
    async listen({ port, host = '127.0.0.1' }) {
      await app.listen({ port, host });
      const address = app.server.address();
      if (address === null || typeof address === 'string') return String(address);
      const hostname = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${hostname}:${address.port}`;
    },
    close: () => app.close(),
  };
}
