import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

async function serve(catalogText: string): Promise<{ code: number; stderr: string }> {
  const catalog = join(directory, 'catalog.yaml');
  writeFileSync(catalog, catalogText);
  const database = join(directory, 'refused.sqlite');
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
