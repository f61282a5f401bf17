import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runQuillstone } from './quillstone.js';
import type { StepResult } from './scenario.js';
import { startDemoServers } from './servers.js';

/**
 * `npm run demo`: starts the control plane on its embedded SQLite default and the example
 * app, drives the Quillstone scenario over real HTTP, prints what happened, and exits
 * non-zero when any result differs from the scenario's expected numbers.
 */
const columns: { title: string; key: keyof StepResult; width: number }[] = [
  { title: 'step', key: 'step', width: 4 },
  { title: 'request', key: 'request', width: 40 },
  { title: 'decision', key: 'decision', width: 24 },
  { title: 'reason', key: 'reason', width: 40 },
  { title: 'balance', key: 'balance', width: 16 },
];

function line(cells: string[]): string {
  return cells
    .map((cell, index) => cell.padEnd(columns[index]!.width))
    .join('  ')
    .trimEnd();
}

function print(result: StepResult): void {
  const cells = columns.map((column) => String(result[column.key]));
  console.log(`${result.failures.length === 0 ? 'ok ' : 'BAD'} ${line(cells)}`);
  for (const failure of result.failures) console.log(`      ${failure}`);
}

function parseFramework(argument: string | undefined): 'express' | 'koa' | 'nest' {
  if (argument === undefined || argument === 'express') return 'express';
  if (argument === 'koa' || argument === 'nest') return argument;
  throw new Error(`unknown framework ${argument}: expected express, koa or nest`);
}

async function main(): Promise<number> {
  const directory = join(process.cwd(), '.tollgate');
  mkdirSync(directory, { recursive: true });
  const databasePath = join(directory, 'demo.sqlite');
  for (const suffix of ['', '-wal', '-shm']) rmSync(databasePath + suffix, { force: true });

  // `node dist/demo.js koa` or `… nest` runs the same scenario against the other apps.
  const framework = parseFramework(process.argv[2]);
  const servers = await startDemoServers({ databasePath, framework });
  console.log(`Quillstone on Tollgate: control plane ${servers.controlPlaneUrl} (SQLite`);
  console.log(`${databasePath}), ${framework} app ${servers.appUrl}, Wasm evaluator\n`);
  console.log(`    ${line(columns.map((column) => column.title))}`);
  let results: StepResult[];
  try {
    results = await runQuillstone(servers, print);
  } finally {
    await servers.close();
  }

  const failed = results.filter((result) => result.failures.length > 0);
  console.log(
    failed.length === 0
      ? `\nAll ${results.length} results match the scenario.`
      : `\n${failed.length} of ${results.length} results differ from the scenario.`,
  );
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
