#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { isTollgateError } from '@tollgate/core';
import { loadCatalogFile } from '@tollgate/catalog';
import { createControlPlane, defaultDatabasePath } from './control-plane.js';
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
  .option('--port <port>', 'TCP port', parsePort, 4100)
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option('--environment <name>', 'environment of the keys', 'test')
  .action(
    async (options: {
      catalog: string;
      db: string;
      port: number;
      host: string;
      environment: string;
    }) => {
      const keys = keysFromEnvironment(options.environment);
      const plane = await createControlPlane({
        catalog: loadCatalogFile(options.catalog),
        databasePath: options.db,
        keys,
      });
      const baseUrl = await plane.listen({ port: options.port, host: options.host });
      plane.app.log.info({ baseUrl, database: options.db }, 'control plane listening');

      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          plane.app.log.info({ signal }, 'control plane stopping');
          void plane.close().then(() => process.exit(0));
        });
      }
    },
  );

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

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError('expected a port from 0 to 65535');
  }
  return port;
}

program.parseAsync().catch((error: unknown) => {
  const text = isTollgateError(error)
    ? `${error.code}: ${error.message}`
    : error instanceof Error
      ? error.message
      : String(error);
  process.stderr.write(`tollgate: ${text}\n`);
  process.exit(1);
});
