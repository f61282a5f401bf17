import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// Inside the worktree, so `@tollgate/*`, `@nestjs/*`, `koa` and `express` resolve through
// its node_modules exactly as they would for an application next to it.
const scratch = join(root, 'node_modules', '.cache', 'tollgate-readme-quick-start');

/**
 * What each quick start leaves to the reader: the control plane's address and key, and
 * the application's own code. Declared globally, so the block compiles as written.
 */
const placeholders: Record<string, string> = {
  express: `
    declare const controlPlaneUrl: string;
    declare const apiKey: string;
    declare const model: {
      complete(body: unknown): Promise<{ usage: { totalTokens: number } }>;
    };`,
  koa: `
    declare const controlPlaneUrl: string;
    declare const apiKey: string;
    declare function renderPdf(): Buffer;
    declare function generate(request: { count: number }): unknown;
    declare const model: {
      complete(body: unknown): Promise<{ usage: { total_tokens: number } }>;
    };`,
  nestjs: `
    declare const controlPlaneUrl: string;
    declare const apiKey: string;
    declare function renderPdf(): Buffer;
    declare function generate(request: { count: number }): unknown;
    declare const model: {
      complete(body: unknown): Promise<{ usage: { total_tokens: number } }>;
    };`,
};

/** The first ```ts block of an adapter's README. */
function quickStartOf(adapter: string): string {
  const readme = readFileSync(join(root, 'adapters', adapter, 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)\n```/.exec(readme);
  if (block === null) throw new Error(`adapters/${adapter}/README.md has no ts block`);
  return block[1]!;
}

/** Type-checks `code` as an ES module with the repository's compiler settings. */
function typeErrorsOf(name: string, code: string, globals: string): string[] {
  const folder = join(scratch, name);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(join(folder, 'placeholders.d.ts'), globals);
  writeFileSync(join(folder, 'quick-start.ts'), code);
  const base = ts.readConfigFile(join(root, 'tsconfig.base.json'), ts.sys.readFile);
  const { options } = ts.convertCompilerOptionsFromJson(base.config.compilerOptions, folder);
  const program = ts.createProgram({
    rootNames: [join(folder, 'quick-start.ts'), join(folder, 'placeholders.d.ts')],
    options: {
      ...options,
      noEmit: true,
      composite: false,
      declaration: false,
      declarationMap: false,
    },
  });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.file === undefined || diagnostic.start === undefined) return message;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `line ${line + 1}: TS${diagnostic.code} ${message}`;
  });
}

describe('the adapter READMEs', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it.each(['express', 'koa', 'nestjs'])(
    "have a %s quick start that type-checks against the adapter's types",
    (adapter) => {
      expect(typeErrorsOf(adapter, quickStartOf(adapter), placeholders[adapter]!)).toEqual([]);
    },
  );

  it('reports a quick start that misuses the API', () => {
    // Proves the check can fail: the same Nest block with `body` typed as the default.
    const broken = quickStartOf('nestjs').replace('@Meter<ImageRequest>(', '@Meter(');
    const errors = typeErrorsOf('nestjs-broken', broken, placeholders.nestjs!);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^line \d+: TS18046 'request\.body' is of type 'unknown'\.$/);
  });
});
