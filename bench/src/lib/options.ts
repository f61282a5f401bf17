/** The command line of `npm run bench -- [--quick] [suite ...]`. */
export interface RunOptions {
  quick: boolean;
  /** Suites to run, in order; all of them when none is named. */
  suites: string[];
  /** Write bench/results/ (off with --no-write, for trying a suite out). */
  write: boolean;
}

export const suiteNames = [
  'decisions',
  'snapshot',
  'middleware',
  'usage',
  'ledger',
  'peers',
  'freshness',
] as const;

export type SuiteName = (typeof suiteNames)[number];

export function parseOptions(argv: readonly string[]): RunOptions {
  const options: RunOptions = { quick: false, suites: [], write: true };
  for (const arg of argv) {
    if (arg === '--quick') options.quick = true;
    else if (arg === '--no-write') options.write = false;
    else if ((suiteNames as readonly string[]).includes(arg)) options.suites.push(arg);
    else {
      throw new Error(
        `unknown argument ${arg}; suites: ${suiteNames.join(', ')}; --quick, --no-write`,
      );
    }
  }
  if (options.suites.length === 0) options.suites = [...suiteNames];
  return options;
}

/** What a suite receives: the mode and its own time budget. */
export interface SuiteContext {
  quick: boolean;
  budgetMs: number;
}
