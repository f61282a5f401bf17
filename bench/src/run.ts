import { rmSync } from 'node:fs';
import { scratchDir } from './fixtures/files.js';
import { parseOptions } from './lib/options.js';
import type { SuiteContext, SuiteName } from './lib/options.js';
import { currentCommit, describeMachine, renderMarkdown, writeReport } from './lib/report.js';
import type { RunReport } from './lib/report.js';
import type { SuiteResult } from './lib/results.js';
import { runDecisions } from './suites/decisions.js';

type Suite = (context: SuiteContext) => Promise<SuiteResult>;

/**
 * Each suite's time budget in seconds, full and quick. The full budgets add up to under
 * ten minutes on the 2-core reference machine; children are killed past their budget.
 */
const budgets: Record<SuiteName, { full: number; quick: number; run: () => Promise<Suite> }> = {
  decisions: { full: 190, quick: 35, run: async () => runDecisions },
  snapshot: {
    full: 120,
    quick: 30,
    run: async () => (await import('./suites/snapshot.js')).runSnapshot,
  },
  middleware: {
    full: 110,
    quick: 30,
    run: async () => (await import('./suites/middleware.js')).runMiddleware,
  },
  usage: { full: 50, quick: 20, run: async () => (await import('./suites/usage.js')).runUsage },
  ledger: { full: 45, quick: 15, run: async () => (await import('./suites/ledger.js')).runLedger },
  peers: { full: 25, quick: 15, run: async () => (await import('./suites/peers.js')).runPeers },
  freshness: {
    full: 30,
    quick: 15,
    run: async () => (await import('./suites/freshness.js')).runFreshness,
  },
  threads: {
    full: 30,
    quick: 15,
    run: async () => (await import('./suites/threads.js')).runThreads,
  },
};

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const report: RunReport = {
    date: new Date().toISOString(),
    commit: currentCommit(),
    quick: options.quick,
    machine: describeMachine(),
    elapsedMs: 0,
    suites: [],
  };
  // Files left by an interrupted run may be in an older snapshot format: start afresh.
  rmSync(scratchDir(), { recursive: true, force: true });
  try {
    for (const name of options.suites as SuiteName[]) {
      const budget = budgets[name];
      const budgetMs = (options.quick ? budget.quick : budget.full) * 1000;
      console.error(`[bench] ${name}: budget ${budgetMs / 1000} s`);
      report.suites.push(
        await runSuite(name, await budget.run(), { quick: options.quick, budgetMs }),
      );
    }
  } finally {
    rmSync(scratchDir(), { recursive: true, force: true });
  }
  report.elapsedMs = Date.now() - started;
  console.log(renderMarkdown(report));
  if (options.write) console.error(`[bench] wrote ${writeReport(report).join(', ')}`);
  if (report.suites.some((suite) => suite.notes.some((note) => note.startsWith('FAILED')))) {
    process.exitCode = 1;
  }
}

/** A failed suite becomes a result that says so, so the other suites still report. */
async function runSuite(name: string, suite: Suite, context: SuiteContext): Promise<SuiteResult> {
  const started = Date.now();
  try {
    return await suite(context);
  } catch (error) {
    console.error(`[bench] ${name} failed`, error);
    const message = error instanceof Error ? error.message : String(error);
    return {
      suite: name,
      title: name,
      budgetMs: context.budgetMs,
      elapsedMs: Date.now() - started,
      inputs: '',
      rows: [],
      targets: [],
      notes: [`FAILED: ${message.split('\n')[0]}`],
    };
  }
}

await main();
