import type { SuiteContext } from '../lib/options.js';
import type { SuiteResult } from '../lib/results.js';

/**
 * Debits per second on one hot balance and on many, SQLite and PostgreSQL, with the
 * concurrency invariant checked afterwards. It needs the ledger API of issue 4 (a debit
 * call with a store choice); until that API is committed this suite reports that it did
 * not run rather than timing a private surface that is about to change.
 */
export async function runLedger(context: SuiteContext): Promise<SuiteResult> {
  const controlPlane: Record<string, unknown> = await import('@tollgate/control-plane');
  const ledgerExports = Object.keys(controlPlane).filter((name) =>
    /ledger|debit|postgres/i.test(name),
  );
  const notes =
    ledgerExports.length === 0
      ? [
          'Not run: @tollgate/control-plane exports no ledger or PostgreSQL store API yet ' +
            '(issue 4). The usage suite still debits credits through POST /v1/usage on SQLite.',
        ]
      : [
          `Not run: ledger exports found (${ledgerExports.join(', ')}) but this suite is not ` +
            'wired to them yet; see bench/README.md.',
        ];
  return {
    suite: 'ledger',
    title: 'Ledger',
    budgetMs: context.budgetMs,
    elapsedMs: 0,
    inputs: 'none',
    rows: [],
    targets: [],
    notes,
  };
}
