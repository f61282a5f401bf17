import { ADMIN_KEY, expectOk } from '../servers/control-plane.js';
import type { BenchPlane } from '../servers/control-plane.js';

/** One debit request of the load and what the control plane answered. */
export interface DebitReply {
  customer: string;
  key: string;
  status: number;
  body: Record<string, unknown>;
}

interface Entry {
  id: number;
  kind: string;
  amount: number;
  idempotency_key: string | null;
}

/** Every ledger entry of a customer, page by page (bounded). */
async function entriesOf(plane: BenchPlane, customer: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  let after = 0;
  for (let page = 0; page < 10_000; page++) {
    const path = `/v1/customers/${customer}/ledger?limit=1000&after=${after}`;
    const body = await expectOk(plane, 'GET', path, ADMIN_KEY);
    entries.push(...(body['entries'] as Entry[]));
    if (body['next_after'] === null) return entries;
    after = body['next_after'] as number;
  }
  throw new Error(`the ledger of ${customer} did not end within 10,000 pages`);
}

async function balanceOf(plane: BenchPlane, customer: string): Promise<number> {
  const body = await expectOk(plane, 'GET', `/v1/customers/${customer}/balances`, ADMIN_KEY);
  const balances = body['balances'] as { currency: string; balance: number }[];
  const found = balances.find((entry) => entry.currency === 'credits');
  if (found === undefined) throw new Error(`${customer} has no credits balance`);
  return found.balance;
}

function fail(customer: string, invariant: string, detail: string): never {
  throw new Error(`${customer}: ${invariant} (${detail})`);
}

/**
 * The ledger's invariants after a load of debits of 1 credit against a hard limit, for
 * each customer; returns how many entries were checked. Throws naming the first broken one.
 */
export async function checkLedger(
  plane: BenchPlane,
  customers: readonly string[],
  granted: number,
  replies: readonly DebitReply[],
): Promise<number> {
  const unexpected = replies.find((reply) => reply.status !== 201 && reply.status !== 402);
  if (unexpected !== undefined) {
    throw new Error(`debit ${unexpected.key}: ${unexpected.status} ${JSON.stringify(unexpected)}`);
  }
  let checked = 0;
  for (const customer of customers) {
    const entries = (await entriesOf(plane, customer)).sort((a, b) => a.id - b.id);
    checked += entries.length;
    const balance = await balanceOf(plane, customer);

    let running = 0;
    for (const entry of entries) {
      running += entry.amount;
      if (running < 0) fail(customer, 'a balance went below zero', `entry ${entry.id}`);
    }
    if (running !== balance) {
      fail(customer, 'the balance is not the sum of its entries', `${balance} ≠ ${running}`);
    }

    const mine = replies.filter((reply) => reply.customer === customer);
    const accepted = new Set(mine.filter((r) => r.status === 201).map((r) => r.key));
    const debits = entries.filter((entry) => entry.kind === 'debit');
    const debitKeys = new Set(debits.map((entry) => entry.idempotency_key));
    if (debits.length !== accepted.size || debitKeys.size !== debits.length) {
      fail(
        customer,
        'accepted debits and debit entries differ',
        `${accepted.size}/${debits.length}`,
      );
    }
    for (const debit of debits) {
      if (debit.amount !== -1 || !accepted.has(debit.idempotency_key ?? '')) {
        fail(customer, 'a debit entry matches no accepted debit of 1', `entry ${debit.id}`);
      }
    }
    if (granted - accepted.size !== balance) {
      fail(customer, 'the grant less the accepted debits is not the balance', `${balance}`);
    }
  }
  return checked;
}

/**
 * Leaves 5 credits on the balance with one debit, then sends `racers` concurrent debits
 * of 1: exactly 5 must be accepted and the balance must end at 0.
 */
export async function raceForTheLastCredits(
  plane: BenchPlane,
  customer: string,
  racers: number,
): Promise<string> {
  const left = 5;
  const balance = await balanceOf(plane, customer);
  await expectOk(plane, 'POST', `/v1/customers/${customer}/debits`, ADMIN_KEY, {
    currency: 'credits',
    amount: balance - left,
    idempotency_key: 'race-setup',
  });
  const statuses = await Promise.all(
    Array.from({ length: racers }, async (_, index) => {
      const reply = await plane.call('POST', `/v1/customers/${customer}/debits`, ADMIN_KEY, {
        currency: 'credits',
        amount: 1,
        idempotency_key: `race-${index}`,
      });
      return reply.status;
    }),
  );
  const accepted = statuses.filter((status) => status === 201).length;
  const refused = statuses.filter((status) => status === 402).length;
  const after = await balanceOf(plane, customer);
  if (accepted !== left || refused !== racers - left || after !== 0) {
    throw new Error(`race for the last ${left} credits: ${accepted} accepted, balance ${after}`);
  }
  return `${racers} concurrent debits of 1 for the last ${left} credits: ${left} accepted`;
}
