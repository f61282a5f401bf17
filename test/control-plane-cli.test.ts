import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
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
