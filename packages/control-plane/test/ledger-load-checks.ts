import { expect } from 'vitest';
import type { Entry } from './ledger-fixtures.js';
import type { Outcome } from './ledger-load.js';
import { expectedStatuses } from './ledger-load.js';

export type Reader = (path: string) => Promise<any>;

/** Every entry of a customer, page by page, through any control plane of the fleet. */
export async function readLedger(read: Reader, customer: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  let after = 0;
  for (let page = 0; page < 10_000; page += 1) {
    const body = await read(`/v1/customers/${customer}/ledger?limit=1000&after=${after}`);
    entries.push(...body.entries);
    if (body.next_after === null) return entries;
    after = body.next_after;
  }
  throw new Error('ledger pages did not end');
}

/**
 * The ledger's invariants after a load, named as the issue names them. `floors` maps each
 * currency to the lowest balance its limit allows (0 when hard, minus the overage cap).
 */
export async function checkLoadInvariants(
  read: Reader,
  customers: readonly string[],
  outcomes: readonly Outcome[],
  floors: Record<string, number>,
): Promise<{ entries: number }> {
  for (const outcome of outcomes) {
    expect(expectedStatuses[outcome.kind], JSON.stringify(outcome)).toContain(outcome.status);
  }
  let total = 0;
  for (const customer of customers) {
    const entries = await readLedger(read, customer);
    total += entries.length;
    const balances = (await read(`/v1/customers/${customer}/balances`)).balances;
    for (const [currency, floor] of Object.entries(floors)) {
      const mine = entries.filter((entry) => entry.currency === currency);
      const balance = balances.find((entry: any) => entry.currency === currency).balance;
      balanceEqualsTheSumOfItsEntries(balance, mine);
      noBalanceBelowItsFloor(mine, floor);
    }
    noKeyProducedTwoOperations(entries, outcomes, customer);
    refusedRequestsWroteNothing(entries, outcomes, customer);
  }
  repliesOfOneKeyAgree(outcomes);
  return { entries: total };
}

function balanceEqualsTheSumOfItsEntries(balance: number, entries: readonly Entry[]) {
  const sum = entries.reduce((total, entry) => total + entry.amount, 0);
  expect(balance, 'balance equals the sum of its entries').toBe(sum);
}

/** Entries of one customer are appended one operation at a time, so every prefix counts. */
function noBalanceBelowItsFloor(entries: readonly Entry[], floor: number) {
  let running = 0;
  let lowest = 0;
  for (const entry of [...entries].sort((left, right) => left.id - right.id)) {
    running += entry.amount;
    lowest = Math.min(lowest, running);
  }
  expect(lowest, 'no balance below its floor, at any point').toBeGreaterThanOrEqual(floor);
}

/**
 * A key names one grant, one debit, one refund, one void or one adjustment: never two
 * operations. Refund entries carry the refunded debit's id, so they are told apart from
 * debits by kind, and a refund applied twice under one key is caught by its amount: the
 * refund entries of a key add up to the amount its answer states.
 */
export function noKeyProducedTwoOperations(
  entries: readonly Entry[],
  outcomes: readonly Outcome[],
  customer: string,
) {
  const byKey = new Map<string, Entry[]>();
  for (const entry of entries) {
    if (entry.idempotency_key === null) continue;
    byKey.set(entry.idempotency_key, [...(byKey.get(entry.idempotency_key) ?? []), entry]);
  }
  const refunded = new Map<string, number>();
  for (const outcome of outcomes) {
    if (outcome.customer !== customer || outcome.kind !== 'refund' || outcome.status >= 300) {
      continue;
    }
    refunded.set(outcome.key, outcome.body.amount);
  }
  for (const [key, group] of byKey) {
    const count = (kind: string) => group.filter((entry) => entry.kind === kind).length;
    const debitEntries = group.filter((entry) => entry.kind === 'debit' && entry.debit_id !== null);
    const debits = new Set(debitEntries.map((entry) => entry.debit_id)).size;
    const refunds = count('refund') > 0 ? 1 : 0;
    const operations = count('grant') + count('void') + debits + refunds;
    expect(operations, `key ${key} produced one operation`).toBeLessThanOrEqual(1);
    if (refunds === 0) continue;
    const sum = group
      .filter((entry) => entry.kind === 'refund')
      .reduce((total, entry) => total + entry.amount, 0);
    expect(sum, `refund ${key} applied once`).toBe(refunded.get(key));
  }
}

function refusedRequestsWroteNothing(
  entries: readonly Entry[],
  outcomes: readonly Outcome[],
  customer: string,
) {
  const written = new Set(entries.map((entry) => entry.idempotency_key));
  const succeeded = new Set(
    outcomes.filter((o) => o.customer === customer && o.status < 300).map((o) => o.key),
  );
  for (const outcome of outcomes) {
    if (outcome.customer !== customer || outcome.kind === 'usage' || outcome.status < 300) continue;
    if (succeeded.has(outcome.key)) continue;
    expect(written.has(outcome.key), `refused key ${outcome.key} wrote nothing`).toBe(false);
  }
}

/** Every success under one key answered the same body: replays return the first result. */
function repliesOfOneKeyAgree(outcomes: readonly Outcome[]) {
  const first = new Map<string, unknown>();
  for (const outcome of outcomes) {
    if (outcome.kind === 'usage' || outcome.kind === 'job' || outcome.status >= 300) continue;
    const id = `${outcome.customer}/${outcome.key}`;
    if (!first.has(id)) first.set(id, outcome.body);
    else expect(outcome.body, `replay of ${id}`).toEqual(first.get(id));
  }
}
