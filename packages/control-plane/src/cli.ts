#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { isTollgateError } from '@tollgate/core';
import { loadCatalogFile } from '@tollgate/catalog';
import { createControlPlane, defaultDatabasePath } from './control-plane.js';
import { registerExplainCommand } from './explain-command.js';
import type { ApiKeyOptions } from './http/auth.js';

/**
 * `tollgate serve`: runs the control plane. Keys come from the environment, never from
 * arguments, so that they stay out of shell history and process listings.
 */
const program = new Command('tollgate').description('Tollgate control plane');

program
  .command('serve')
  .description('serve the control-plane HTTP API')
  .requiredOption('--catalog <file>', 'catalog YAML file')
  .option('--db <path>', 'SQLite database file', defaultDatabasePath)
  .option(
    '--database-url <url>',
    'PostgreSQL URL (default: $TOLLGATE_DATABASE_URL); wins over --db',
  )
  .option('--ledger-job-interval-ms <ms>', 'expiry and rollover job period', parseCount, 60_000)
  .option('--port <port>', 'TCP port', parsePort, 4100)
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option('--environment <name>', 'environment of the keys', 'test')
  .option(
    '--redis-url <url>',
    'lease accounting in Redis, shared by every instance (default: $TOLLGATE_REDIS_URL)',
  )
  .option('--redis-prefix <prefix>', 'key prefix in Redis, one per deployment', 'tollgate')
  .option('--lease-ttl-ms <ms>', 'how long a lease may be spent before renewal', parseCount)
  .option('--usage-skew-future-ms <ms>', 'accept event times this far ahead', parseCount)
  .option('--usage-grace-past-ms <ms>', 'accept event times this far behind', parseCount)
  .option('--stream-heartbeat-ms <ms>', 'heartbeat interval of snapshot streams', parseCount)
  .action(async (options: ServeOptions) => {
    const keys = keysFromEnvironment(options.environment);
    const databaseUrl = options.databaseUrl ?? process.env.TOLLGATE_DATABASE_URL;
    const redisUrl = options.redisUrl ?? process.env.TOLLGATE_REDIS_URL;
    const plane = await createControlPlane({
      catalog: loadCatalogFile(options.catalog),
      databasePath: options.db,
      ...(databaseUrl ? { databaseUrl } : {}),
      ledgerJobIntervalMs: options.ledgerJobIntervalMs,
      keys,
      leases: {
        ...(redisUrl ? { redisUrl, redisPrefix: options.redisPrefix } : {}),
        ...defined({ ttlMs: options.leaseTtlMs }),
      },
      usageTime: defined({
        skewFutureMs: options.usageSkewFutureMs,
        gracePastMs: options.usageGracePastMs,
      }),
      ...defined({ streamHeartbeatIntervalMs: options.streamHeartbeatMs }),
    });
    const baseUrl = await plane.listen({ port: options.port, host: options.host });
    // The URL may carry a password, so only the kind of store is logged.
    const database = databaseUrl ? 'postgres' : options.db;
    plane.app.log.info({ baseUrl, database }, 'control plane listening');

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        plane.app.log.info({ signal }, 'control plane stopping');
        void plane.close().then(() => process.exit(0));
      });
    }
  });

interface ServeOptions {
  catalog: string;
  db: string;
  databaseUrl?: string;
  ledgerJobIntervalMs: number;
  port: number;
  host: string;
  environment: string;
  redisUrl?: string;
  redisPrefix: string;
  leaseTtlMs?: number;
  usageSkewFutureMs?: number;
  usageGracePastMs?: number;
  streamHeartbeatMs?: number;
}

/** Keeps only the fields given, so the control plane's defaults apply to the others. */
function defined<T extends Record<string, number | undefined>>(fields: T) {
  const kept: Record<string, number> = {};
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) kept[name] = value;
  return kept as { [K in keyof T]?: number };
}

function keysFromEnvironment(environment: string): ApiKeyOptions[] {
  const keys: ApiKeyOptions[] = [];
  const admin = process.env.TOLLGATE_ADMIN_KEY;
  const runtime = process.env.TOLLGATE_RUNTIME_KEY;
  if (admin) keys.push({ key: admin, role: 'admin', environment });
  if (runtime) keys.push({ key: runtime, role: 'runtime', environment });
  if (keys.length === 0) {
    throw new Error('set TOLLGATE_ADMIN_KEY and/or TOLLGATE_RUNTIME_KEY to serve');
  }
  return keys;
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new InvalidArgumentError('expected a whole number');
  }
  return count;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError('expected a port from 0 to 65535');
  }
  return port;
}

registerExplainCommand(program);

program.parseAsync().catch((error: unknown) => {
  const text = isTollgateError(error)
    ? `${error.code}: ${error.message}`
    : error instanceof Error
      ? error.message
      : String(error);
  process.stderr.write(`tollgate: ${text}\n`);
  process.exit(1);
});
