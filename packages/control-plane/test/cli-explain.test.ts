import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, startHarness } from './harness.js';
import type { Harness } from './harness.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = promisify(execFile);

describe('tollgate explain <customer> <feature> [--at <time>]', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness('2026-03-01T00:00:00Z');
    await harness.call('POST', '/v1/customers', { id: 'acme' });
    await harness.call('POST', '/v1/customers/acme/subscriptions', { plan: 'pro' });
    await harness.call('POST', '/v1/customers/acme/addons', {
      addon: 'extra_projects_25',
      idempotency_key: 'projects-1',
    });
    await harness.call('POST', '/v1/customers/acme/overrides', {
      feature: 'max_projects',
      limit: 10,
      ends_at: '2026-03-10T00:00:00Z',
    });
  });
  afterAll(() => harness.close());

  const explain = (...args: string[]) =>
    run(process.execPath, [cli, 'explain', ...args, '--url', harness.baseUrl], {
      env: { ...process.env, TOLLGATE_ADMIN_KEY: adminKey },
    });

  it('prints the value, the winner and every source in order', async () => {
    const { stdout } = await explain('acme', 'max_projects');
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^acme max_projects at 2026-03-01T00:00:00.000Z \(active\): 10; /);
    expect(lines[0]).toMatch(/decided by override 1$/);
    expect(lines.slice(1, 4).map((line) => line.split('  ')[1])).toEqual([
      '+ plan pro v1 (base) → 50',
      '+ addon extra_projects_25 (sum) → 75',
      '+ override override 1 (set) → 10',
    ]);
  });

  it('answers for another instant with --at', async () => {
    const { stdout } = await explain('acme', 'max_projects', '--at', '2026-03-10T00:00:00Z');
    expect(stdout.split('\n')[0]).toMatch(/: 75; allowed, decided by extra_projects_25$/);
  });
});
