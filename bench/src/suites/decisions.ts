import { formatCount } from '../fixtures/files.js';
import { runChild } from '../lib/child.js';
import type { SuiteContext } from '../lib/options.js';
import { ratiosAgainst, target } from '../lib/results.js';
import type { ResultRow, SuiteResult } from '../lib/results.js';

const NAIVE = 'naive Map "customer:feature"';

/**
 * Decisions in process: the Wasm evaluator, the TypeScript reference and two plain-Map
 * baselines on the same questions, each snapshot size in its own fresh process.
 */
export async function runDecisions(context: SuiteContext): Promise<SuiteResult> {
  const started = Date.now();
  const sizes = context.quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
  const timeMs = context.quick ? 120 : 300;
  const rows: ResultRow[] = [];
  // Each child may use what is left of the suite's budget: the largest one needs most.
  const deadline = started + context.budgetMs;
  for (const size of sizes) {
    const perSize = await runChild<ResultRow[]>(
      'suites/decisions-child.js',
      [String(size), String(timeMs)],
      Math.max(5000, deadline - Date.now()),
    );
    rows.push(...perSize);
  }
  ratiosAgainst(rows, NAIVE);

  const largest = formatCount(sizes[sizes.length - 1]!);
  const find = (question: string, suffix = '') =>
    rows.find(
      (row) => row.case === `${question}, ${largest}${suffix}` && row.subject === 'Wasm evaluator',
    );
  const hot = find('check by id, hot set');
  return {
    suite: 'decisions',
    title: 'Decisions in process',
    budgetMs: context.budgetMs,
    elapsedMs: Date.now() - started,
    inputs:
      `snapshots of ${sizes.map(formatCount).join(', ')} customers × 10 features; ` +
      'loops of 1,024 decisions per timed call; questions mix a flag, a config limit, a meter ' +
      'and a credit cost; ids are freshly built strings (no cached hash), hot set = 1,000 ' +
      'customers, uniform = all; consume and reserve + settle take 1 unit of a metered feature',
    rows,
    targets: [
      target(
        `check by handle, ${largest}, median`,
        find('check by handle')?.value ?? NaN,
        50,
        'ns',
        'at most',
      ),
      target(`check by id, hot set, ${largest}, median`, hot?.value ?? NaN, 200, 'ns', 'at most'),
      target(
        `check by id, hot set, ${largest}, p99`,
        find('check by id p99, hot set')?.value ?? NaN,
        1000,
        'ns',
        'at most',
      ),
      target(
        `check by id, hot set, ${largest}: faster than the naive map`,
        hot?.ratio === undefined ? NaN : 1 / hot.ratio,
        5,
        '× faster',
        'at least',
      ),
      target(
        `check by id, uniform, ${largest}, mean`,
        find('check by id, uniform', ' (mean)')?.value ?? NaN,
        600,
        'ns',
        'at most',
      ),
      target(
        `batch check, ${largest}, per decision`,
        find('batch check by handle')?.value ?? NaN,
        40,
        'ns',
        'at most',
      ),
    ],
    notes: [
      'Ratios compare each subject with the naive Map in the same process and run; ' +
        'below 1 is faster.',
      'The baselines skip what the evaluators also do: period rollover, saturating arithmetic, ' +
        'typed reasons for unknown features, and (for batch) they have no handle API at all.',
      'p99 rows time one decision per clock reading (clock cost subtracted), so they include ' +
        'occasional GC and timer interrupts that a loop median hides.',
    ],
  };
}
