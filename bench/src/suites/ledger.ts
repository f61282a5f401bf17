import { parseCatalog } from '@tollgate/catalog';
import type { SuiteContext } from '../lib/options.js';
import { ratiosAgainst } from '../lib/results.js';
import type { ResultRow, SuiteResult, TargetCheck } from '../lib/results.js';
import { ADMIN_KEY, expectOk, startPlane } from '../servers/control-plane.js';
import type { BenchPlane, StoreKind } from '../servers/control-plane.js';
import { checkLedger, raceForTheLastCredits } from './ledger-checks.js';
import type { DebitReply } from './ledger-checks.js';

/** One hard-limited currency: a debit the balance cannot cover is refused whole (402). */
const catalog = parseCatalog(`schema_version: 1
currencies:
  credits: {}
features:
  chat: { kind: credits, currency: credits, cost: 1 }
plans: {}
`);

const CLIENTS = 16;
const MANY = 100;
/** Enough for any run here: a debit takes 1 credit, and no store does 1M debits in seconds. */
const GRANT = 1_000_000;
const storeNames: Record<StoreKind, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

interface Scenario {
  name: string;
  customers: string[];
}

/**
 * Debits of 1 credit over HTTP from `CLIENTS` concurrent loops, each with its own
 * idempotency key, until `timeMs` has passed (and at most `debitsMax`). Every reply is kept
 * for the invariant checks.
 */
async function debitLoad(plane: BenchPlane, customers: string[], timeMs: number) {
  const debitsMax = 200_000;
  const replies: DebitReply[] = [];
  let issued = 0;
  const start = performance.now();
  const client = async () => {
    while (issued < debitsMax && performance.now() - start < timeMs) {
      issued += 1;
      const customer = customers[issued % customers.length]!;
      const key = `d${issued}`;
      const reply = await plane.call('POST', `/v1/customers/${customer}/debits`, ADMIN_KEY, {
        currency: 'credits',
        amount: 1,
        idempotency_key: key,
      });
      replies.push({ customer, key, status: reply.status, body: reply.body });
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const seconds = (performance.now() - start) / 1000;
  return { replies, debitsPerSecond: replies.length / seconds };
}

async function runStore(store: StoreKind, scenarios: Scenario[], timeMs: number) {
  const plane = await startPlane(store, catalog);
  const rows: ResultRow[] = [];
  const checks: string[] = [];
  try {
    for (const scenario of scenarios) {
      for (const customer of scenario.customers) {
        await expectOk(plane, 'POST', '/v1/customers', ADMIN_KEY, { id: customer });
        await expectOk(plane, 'POST', `/v1/customers/${customer}/grants`, ADMIN_KEY, {
          currency: 'credits',
          category: 'paid',
          amount: GRANT,
          idempotency_key: `${customer}-seed`,
        });
      }
    }
    for (const scenario of scenarios) {
      const load = await debitLoad(plane, scenario.customers, timeMs);
      const entries = await checkLedger(plane, scenario.customers, GRANT, load.replies);
      rows.push({
        case: `debits of 1 credit, ${CLIENTS} concurrent clients, ${scenario.name}`,
        subject: storeNames[store],
        value: load.debitsPerSecond,
        unit: 'debits/s',
      });
      checks.push(
        `${storeNames[store]}, ${scenario.name}: ${load.replies.length} debits, ` +
          `${entries} entries checked`,
      );
    }
    const race = await raceForTheLastCredits(plane, scenarios[0]!.customers[0]!, CLIENTS * 4);
    checks.push(`${storeNames[store]}, last credits: ${race}`);
    return { rows, checks };
  } finally {
    await plane.close();
  }
}

/**
 * Debits per second through the control plane's ledger (POST /v1/customers/:id/debits),
 * on one hot balance and spread over many, on SQLite and PostgreSQL; after each run the
 * ledger's invariants are checked, and a final race spends the hot balance's last credits.
 */
export async function runLedger(context: SuiteContext): Promise<SuiteResult> {
  const started = Date.now();
  const timeMs = context.quick ? 1000 : 4000;
  const scenarios: Scenario[] = [
    { name: 'one hot balance', customers: ['ledger_hot'] },
    {
      name: `${MANY} balances`,
      customers: Array.from({ length: MANY }, (_, index) => `ledger_${index}`),
    },
  ];
  const rows: ResultRow[] = [];
  const notes: string[] = [];
  const targets: TargetCheck[] = [];
  for (const store of ['sqlite', 'postgres'] as const) {
    try {
      const result = await runStore(store, scenarios, timeMs);
      rows.push(...result.rows);
      notes.push(...result.checks.map((check) => `Invariants held: ${check}.`));
      targets.push({
        target: `ledger invariants after concurrent debits, ${storeNames[store]}`,
        measured: 'held',
        met: true,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      notes.push(`FAILED: ${storeNames[store]}: ${message.split('\n')[0]}`);
      targets.push({
        target: `ledger invariants after concurrent debits, ${storeNames[store]}`,
        measured: 'failed',
        met: false,
      });
    }
  }
  ratiosAgainst(rows, 'SQLite');
  notes.push(
    'Ratios are PostgreSQL over SQLite for the same case in the same run: above 1 is faster.',
    'Checked after each run, for every customer: the balance equals the sum of its entries; ' +
      'no prefix of the entries goes below zero; each accepted debit wrote exactly one debit ' +
      'entry of its amount under its key, and each refused one wrote none; the grant minus ' +
      'the accepted debits is the balance.',
  );
  return {
    suite: 'ledger',
    title: 'Ledger',
    budgetMs: context.budgetMs,
    elapsedMs: Date.now() - started,
    inputs:
      `the control plane in this process on 127.0.0.1 (a fresh SQLite file; a fresh ` +
      `PostgreSQL 15 schema on 127.0.0.1:5432); one hard-limited currency; each customer ` +
      `granted ${GRANT.toLocaleString('en-US')} credits; debits of 1 with unique idempotency ` +
      `keys from ${CLIENTS} concurrent undici clients, ${timeMs / 1000} s per run; then ` +
      `${CLIENTS * 4} concurrent debits race for the hot balance's last 5 credits`,
    rows,
    targets,
    notes,
  };
}
