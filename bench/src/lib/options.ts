import { parseArgs } from 'node:util';

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
  'threads',
] as const;

export type SuiteName = (typeof suiteNames)[number];

/** Parses the arguments with Node's own `util.parseArgs`; positionals name suites. */
export function parseOptions(argv: readonly string[]): RunOptions {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { quick: { type: 'boolean', default: false }, write: { type: 'boolean' } },
    allowPositionals: true,
    allowNegative: true,
  });
  for (const name of positionals) {
    if (!(suiteNames as readonly string[]).includes(name)) {
      throw new Error(`unknown suite ${name}; suites: ${suiteNames.join(', ')}`);
    }
  }
  return {
    quick: values.quick === true,
    suites: positionals.length === 0 ? [...suiteNames] : positionals,
    write: values.write !== false,
  };
}

/** What a suite receives: the mode and its own time budget. */
export interface SuiteContext {
  quick: boolean;
  budgetMs: number;
}
