import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, runtimeKey } from './harness.js';
import { loadFloors, countBy } from './ledger-concurrency.suite.js';
import { ledgerCatalogYaml } from './ledger-fixtures.js';
import { runRandomLoad } from './ledger-load.js';
import { checkLoadInvariants, readLedger } from './ledger-load-checks.js';
import { testSchema } from './postgres-schema.js';

const cliPath = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const customers = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'];

interface Plane {
  child: ChildProcess;
  baseUrl: string;
}

/** Starts the built CLI on a random port and resolves once it logs its address. */
function startPlane(catalogPath: string, databaseUrl: string): Promise<Plane> {
  const child = spawn(
    process.execPath,
    [cliPath, 'serve', '--catalog', catalogPath, '--port', '0', '--ledger-job-interval-ms', '250'],
    {
      env: {
        ...process.env,
        TOLLGATE_ADMIN_KEY: adminKey,
        TOLLGATE_RUNTIME_KEY: runtimeKey,
        TOLLGATE_DATABASE_URL: databaseUrl,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`control plane exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const record = JSON.parse(line) as { msg?: string; baseUrl?: string; level?: number };
      // Errors a process logs explain a 500 the test sees; they are passed on.
      if ((record.level ?? 0) >= 50) process.stderr.write(`${line}\n`);
      if (record.msg === 'control plane listening' && record.baseUrl !== undefined) {
        resolve({ child, baseUrl: record.baseUrl });
      }
    });
  });
}

async function stopPlane(plane: Plane | undefined): Promise<void> {
  const child = plane?.child;
  if (child === undefined || child.pid === undefined || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

describe('ledger on two control-plane processes sharing one PostgreSQL database', () => {
  const schema = testSchema('fleet');
  const directory = mkdtempSync(join(tmpdir(), 'tollgate-fleet-'));
  let planes: Plane[] = [];

  beforeAll(async () => {
    if (!existsSync(cliPath)) throw new Error(`build first (npm run build): no ${cliPath}`);
    const catalogPath = join(directory, 'catalog.yaml');
    writeFileSync(catalogPath, ledgerCatalogYaml);
    // Both start together: the advisory lock lets one of them migrate the fresh schema.
    planes = await Promise.all([
      startPlane(catalogPath, schema.url),
      startPlane(catalogPath, schema.url),
    ]);
  });
  afterAll(async () => {
    await Promise.all(planes.map(stopPlane));
    await schema.drop();
    rmSync(directory, { recursive: true, force: true });
  });

  const call = async (baseUrl: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  };

  it('10,000 random operations split across both keep every invariant', async () => {
    const [first, second] = planes as [Plane, Plane];
    for (const id of customers) {
      expect((await call(first.baseUrl, 'POST', '/v1/customers', { id })).status).toBe(201);
      const grant = { currency: 'credits', amount: 500, category: 'paid', idempotency_key: 'seed' };
      await call(second.baseUrl, 'POST', `/v1/customers/${id}/grants`, grant);
    }
    const target = {
      baseUrls: [first.baseUrl, second.baseUrl],
      adminKey,
      runtimeKey,
      customers,
      nowMs: () => Date.now(),
      expiryRangeMs: [200, 4_000] as const,
    };
    const outcomes = await runRandomLoad(target, { operations: 10_000, clients: 32, seed: 7 });
    const read = async (path: string) => (await call(second.baseUrl, 'GET', path)).body;
    await checkLoadInvariants(read, customers, outcomes, loadFloors);
    const byKind = countBy(outcomes.map((outcome) => `${outcome.kind} ${outcome.status}`));
    for (const seen of ['grant 201', 'debit 201', 'debit 402', 'refund 201', 'void 200']) {
      expect(byKind[seen] ?? 0, seen).toBeGreaterThan(0);
    }
    // Grants expired during the run, by the job of either process or lazily.
    const entries = (await Promise.all(customers.map((id) => readLedger(read, id)))).flat();
    expect(entries.filter((entry) => entry.kind === 'expiry').length).toBeGreaterThan(0);
  }, 300_000);
});
