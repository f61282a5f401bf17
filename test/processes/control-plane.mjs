// A control plane in its own process, for tests that kill and restart it by pid.
// Configured by environment variables; prints `listening <url>` once it serves.
import { loadCatalogFile } from '@tollgate/catalog';
import { createControlPlane } from '@tollgate/control-plane';

const env = process.env;
const plane = await createControlPlane({
  catalog: loadCatalogFile(env.TG_CATALOG),
  databasePath: env.TG_DATABASE,
  logger: false,
  keys: [
    { key: 'tg_admin_process', role: 'admin' },
    { key: 'tg_runtime_process', role: 'runtime' },
  ],
  leases: env.TG_REDIS_PREFIX
    ? { redisUrl: 'redis://127.0.0.1:6379', redisPrefix: env.TG_REDIS_PREFIX }
    : {},
  streamCheckIntervalMs: 200,
  streamHeartbeatIntervalMs: Number(env.TG_HEARTBEAT_MS ?? 10_000),
});
const url = await plane.listen({ port: Number(env.TG_PORT ?? 0), host: '127.0.0.1' });
process.stdout.write(`listening ${url}\n`);
process.on('SIGTERM', () => {
  plane.close().then(() => process.exit(0));
});
