import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { formatNumber, formatRatio } from './results.js';
import type { SuiteResult } from './results.js';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  platform: string;
}

export interface RunReport {
  date: string;
  commit: string;
  quick: boolean;
  machine: Machine;
  elapsedMs: number;
  suites: SuiteResult[];
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

/** The commit measured, with `+dirty` when bench/ differs from it (results aside). */
export function currentCommit(): string {
  try {
    const run = (args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
    const commit = run(['rev-parse', '--short=12', 'HEAD']);
    // The results folder is this run's output, not its input.
    const dirty = run(['status', '--porcelain', '--', '.', ':!results']).length > 0;
    return dirty ? `${commit}+dirty` : commit;
  } catch {
    return 'unknown';
  }
}

export function renderMarkdown(report: RunReport): string {
  const { machine } = report;
  const lines = [
    `# Tollgate benchmark results${report.quick ? ' (quick run)' : ''}`,
    '',
    `- date: ${report.date}`,
    `- commit: ${report.commit}`,
    `- machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, ` +
      `${machine.platform}, Node ${machine.node}`,
    `- total time: ${(report.elapsedMs / 1000).toFixed(0)} s`,
    '',
  ];
  for (const suite of report.suites) lines.push(...renderSuite(suite));
  return lines.join('\n');
}

function renderSuite(suite: SuiteResult): string[] {
  const seconds = (ms: number) => (ms / 1000).toFixed(0);
  const lines = [
    `## ${suite.title}`,
    '',
    `Time: ${seconds(suite.elapsedMs)} s of a ${seconds(suite.budgetMs)} s budget. ` +
      `Inputs: ${suite.inputs}.`,
    '',
  ];
  if (suite.rows.length > 0) {
    lines.push('| case | subject | value | ratio | versus |', '| --- | --- | ---: | ---: | --- |');
    for (const row of suite.rows) {
      const value = `${formatNumber(row.value)} ${row.unit}`;
      const ratio = formatRatio(row.ratio);
      lines.push(`| ${row.case} | ${row.subject} | ${value} | ${ratio} | ${row.versus ?? ''} |`);
    }
    lines.push('');
  }
  if (suite.targets.length > 0) {
    lines.push('| target | measured | met |', '| --- | --- | --- |');
    for (const check of suite.targets) {
      const met = check.met === null ? 'n/a' : check.met ? 'yes' : '**no**';
      const note = check.note === undefined ? '' : ` (${check.note})`;
      lines.push(`| ${check.target} | ${check.measured}${note} | ${met} |`);
    }
    lines.push('');
  }
  for (const note of suite.notes) lines.push(`- ${note}`);
  lines.push('');
  return lines;
}

/** Writes `latest.md` and `latest.json` (`latest-quick.*` for --quick runs). */
export function writeReport(report: RunReport): string[] {
  const dir = fileURLToPath(new URL('../../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const stem = report.quick ? 'latest-quick' : 'latest';
  const paths = [`${dir}${stem}.md`, `${dir}${stem}.json`];
  writeFileSync(paths[0]!, renderMarkdown(report));
  writeFileSync(paths[1]!, `${JSON.stringify(report, null, 2)}\n`);
  return paths;
}
