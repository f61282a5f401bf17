import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../packages/control-plane/dist/cli.js', import.meta.url));
const quillstone = fileURLToPath(new URL('../examples/ai-assistant/catalog.yaml', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'tollgate-cli-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

async function serve(
  catalogText: string,
  database = join(directory, 'refused.sqlite'),
): Promise<{ code: number; stderr: string }> {
  const catalog = join(directory, 'catalog.yaml');
  writeFileSync(catalog, catalogText);
  try {
    await run(
      process.execPath,
      [cli, 'serve', '--catalog', catalog, '--db', database, '--port', '0'],
      {
        env: { ...process.env, TOLLGATE_ADMIN_KEY: 'tg_test_admin_cli' },
        timeout: 20_000,
      },
    );
    return { code: 0, stderr: '' };
  } catch (error) {
    const failure = error as { code: number; stderr: string };
    return { code: failure.code, stderr: failure.stderr };
  }
}

describe('tollgate serve', () => {
  it('refuses to start on a malformed catalog, naming the field', async () => {
    const text = readFileSync(quillstone, 'utf8').replace('limit: 50 }', 'limit: -50 }');
    const { code, stderr } = await serve(text);
    expect(code).toBe(1);
    expect(stderr).toBe(
      'tollgate: TOLLGATE_ERR_CATALOG_INVALID: plans.pro.versions[0].entitlements.max_projects' +
        '.limit: expected a non-negative integer\n',
    );
  });

  it('refuses a plan that grants a feature the catalog lacks', async () => {
    const text = readFileSync(quillstone, 'utf8').replace('export_pdf: true', 'export_docx: true');
    const { code, stderr } = await serve(text);
    expect(code).toBe(1);
    expect(stderr).toContain('plans.pro.versions[0].entitlements.export_docx: unknown feature');
  });
});

// The entitlement rules a catalog can break (issue #3), each refused by the process with a
// coded error naming the field, before any database is opened.
const quillstoneText = readFileSync(quillstone, 'utf8');
const refusals: [string, string, string][] = [
  [
    'a cycle of fallback plans',
    quillstoneText
      .replace('  pro:\n', '  pro:\n    fallback_plan: team\n')
      .replace('  team:\n', '  team:\n    fallback_plan: pro\n'),
    'plans.pro.fallback_plan',
  ],
  [
    'an add-on naming a missing feature',
    quillstoneText.replace('max_projects: { add: 25 }', 'max_folders: { add: 25 }'),
    'addons.extra_projects_25.entitlements.max_folders',
  ],
  [
    'a trial falling back to a missing plan',
    quillstoneText.replace('fallback_plan: free }', 'fallback_plan: basic }'),
    'trials.pro_trial.fallback_plan',
  ],
  ['a trial of zero days', quillstoneText.replace('days: 14', 'days: 0'), 'trials.pro_trial.days'],
  [
    'an unknown time zone',
    quillstoneText.replace('schema_version: 1', 'schema_version: 1\ntime_zone: Mars/Olympus'),
    'time_zone',
  ],
];

describe('tollgate serve refuses a catalog whose entitlements cannot resolve', () => {
  it.each(refusals)('refuses %s, naming the field, and opens no database', async (...args) => {
    const [label, text, field] = args;
    const database = join(directory, `${label.replaceAll(' ', '-')}.sqlite`);
    const { code, stderr } = await serve(text, database);
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^tollgate: TOLLGATE_ERR_CATALOG_INVALID: ${field}: `));
    expect(existsSync(database)).toBe(false);
  });
});

describe('tollgate serve options for a fleet', () => {
  it('keeps leases in Redis with the TTL given and applies the usage time window', async () => {
    const prefix = `tollgate-cli-${process.pid}-${Date.now()}`;
    const args = [
      ...[cli, 'serve', '--catalog', quillstone, '--port', '0'],
      ...['--db', join(directory, 'fleet.sqlite'), '--redis-url', 'redis://127.0.0.1:6379'],
      ...['--redis-prefix', prefix, '--lease-ttl-ms', '5000'],
      ...['--usage-skew-future-ms', '1000', '--usage-grace-past-ms', '3600000'],
    ];
    const child = spawn(process.execPath, args, {
      env: {
        ...process.env,
        TOLLGATE_ADMIN_KEY: 'tg_cli_admin',
        TOLLGATE_RUNTIME_KEY: 'tg_cli_rt',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const redis = new Redis('redis://127.0.0.1:6379');
    try {
      let output = '';
      while (!/control plane listening.*\n/.test(output)) {
        const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
        output += chunk.toString('utf8');
      }
      const listening = output
        .split('\n')
        .find((line) => line.includes('control plane listening'))!;
      const baseUrl = JSON.parse(listening).baseUrl as string;
      const post = async (key: string, path: string, body: unknown) => {
        const answer = await fetch(baseUrl + path, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: answer.status, body: await answer.json() };
      };
      await post('tg_cli_admin', '/v1/customers', { id: 'fleet' });
      await post('tg_cli_admin', '/v1/customers/fleet/subscriptions', { plan: 'free' });

      const before = Date.now();
      const lease = await post('tg_cli_rt', '/v1/leases', {
        customer: 'fleet',
        feature: 'chat.fast',
        requested: 10,
      });
      expect([lease.status, lease.body.granted]).toEqual([200, 10]);
      expect(lease.body.expires_at_ms).toBeGreaterThanOrEqual(before + 5000);
      expect(lease.body.expires_at_ms).toBeLessThanOrEqual(Date.now() + 5000);
      expect((await redis.keys(`${prefix}:*`)).length).toBeGreaterThan(0);

      // 60 s ahead passes the 1 s skew; 2 h behind passes the 1 h grace; 30 min behind is kept.
      const consume = (key: string, offsetMs: number) =>
        post('tg_cli_rt', '/v1/consume', {
          customer: 'fleet',
          feature: 'chat.fast',
          quantity: 1,
          key,
          time: Date.now() + offsetMs,
        });
      const ahead = await consume('cli-ahead', 60_000);
      const behind = await consume('cli-behind', -2 * 3_600_000);
      const kept = await consume('cli-kept', -30 * 60_000);
      expect([ahead.body.allowed, ahead.body.rejected.code]).toEqual([
        false,
        'TOLLGATE_ERR_USAGE_EVENT_TIME',
      ]);
      expect([behind.body.allowed, behind.body.rejected.code]).toEqual([
        false,
        'TOLLGATE_ERR_USAGE_EVENT_TIME',
      ]);
      expect(kept.body.allowed).toBe(true);
    } finally {
      child.kill('SIGKILL');
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    }
  });
});
