import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '@tollgate/core';
import { loadCatalogFile } from '@tollgate/catalog';
import { createControlPlane } from '@tollgate/control-plane';
import { createTollgate, type Tollgate } from '@tollgate/runtime';
import { createAssistantApp } from './app.js';
import { createKoaAssistantApp } from './koa/app.js';
import { createNestAssistantApp } from './nest/main.js';

export const catalogPath = fileURLToPath(new URL('../catalog.yaml', import.meta.url));

/** Both servers of the demo, the clock they share and the app's runtime. */
export interface DemoServers {
  controlPlaneUrl: string;
  appUrl: string;
  adminKey: string;
  clock: ManualClock;
  tollgate: Tollgate;
  close(): Promise<void>;
}

export interface DemoOptions {
  /** The control plane's SQLite file; a fresh scenario needs a file no one else uses. */
  databasePath: string;
  evaluator?: 'wasm' | 'reference';
  /** Which of the three example apps serves the routes; Express by default. */
  framework?: 'express' | 'koa' | 'nest';
}

/** Starts one example app on 127.0.0.1; resolves with its server and how to stop it. */
async function startApp(
  tollgate: Tollgate,
  framework: DemoOptions['framework'],
): Promise<{ server: Server; stop: () => Promise<void> }> {
  if (framework === 'nest') {
    const app = await createNestAssistantApp(tollgate);
    await app.listen(0, '127.0.0.1');
    const server = app.getHttpServer() as Server;
    return { server, stop: () => app.close() };
  }
  const listener =
    framework === 'koa' ? createKoaAssistantApp(tollgate) : createAssistantApp(tollgate);
  const server: Server = listener.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const stop = (): Promise<void> => new Promise((resolve) => server.close(() => resolve()));
  return { server, stop };
}

/**
 * Starts the control plane (SQLite, the Quillstone catalog) and the example app on
 * 127.0.0.1, each on a port the system picks, sharing one manual clock so that the
 * scenario's instants come from the script, not the wall clock.
 */
export async function startDemoServers(options: DemoOptions): Promise<DemoServers> {
  const clock = new ManualClock('2026-03-01T00:00:00Z');
  const adminKey = 'tg_test_admin_demo';
  const runtimeKey = 'tg_test_runtime_demo';
  const controlPlane = await createControlPlane({
    catalog: loadCatalogFile(catalogPath),
    databasePath: options.databasePath,
    keys: [
      { key: adminKey, role: 'admin' },
      { key: runtimeKey, role: 'runtime' },
    ],
    clock: clock.now,
    logger: false,
  });
  const controlPlaneUrl = await controlPlane.listen({ port: 0, host: '127.0.0.1' });

  const tollgate = await createTollgate({
    controlPlaneUrl,
    apiKey: runtimeKey,
    evaluator: options.evaluator ?? 'wasm',
    clock: clock.now,
    refreshIntervalMs: 0,
    batch: { maxEvents: 500, maxDelayMs: 20 },
  });
  const { server, stop } = await startApp(tollgate, options.framework);
  const { port } = server.address() as AddressInfo;

  return {
    controlPlaneUrl,
    appUrl: `http://127.0.0.1:${port}`,
    adminKey,
    clock,
    tollgate,
    async close() {
      server.closeAllConnections();
      await stop();
      await tollgate.close();
      await controlPlane.close();
    },
  };
}
