import { Packr } from 'msgpackr';
import { expect } from 'vitest';
import type { Entry } from './ledger-fixtures.js';

/**
 * Random ledger traffic over HTTP from many clients at once, and the checks run on what
 * it leaves behind. Every loop is bounded by a count; nothing asserts on timing.
 */
export interface LoadTarget {
  /** One or more control planes sharing a database; clients pick one per request. */
  baseUrls: readonly string[];
  adminKey: string;
  runtimeKey: string;
  customers: readonly string[];
  /** The clock the control planes read, for expiry instants and event times. */
  nowMs(): number;
  /** Moves a manual clock forward; absent when the planes run on the system clock. */
  advance?: (ms: number) => void;
  /** How far ahead expiring grants expire, [min, max) ms; 1 to 11 minutes by default. */
  expiryRangeMs?: readonly [number, number];
}

export interface Outcome {
  key: string;
  customer: string;
  kind: 'grant' | 'debit' | 'refund' | 'void' | 'usage' | 'job';
  status: number;
  body: any;
}

const packr = new Packr({ useRecords: false });
const currencies = ['credits', 'capped_credits'] as const;

/** A small seeded generator (mulberry32), so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Pools {
  sent: Map<string, { customer: string; path: string; body: unknown }>;
  debits: { customer: string; id: number }[];
  grants: { customer: string; id: number }[];
}

/** Runs `operations` random requests from `clients` concurrent loops; returns every answer. */
export async function runRandomLoad(
  target: LoadTarget,
  options: { operations: number; clients: number; seed: number },
): Promise<Outcome[]> {
  const random = seededRandom(options.seed);
  const pools: Pools = { sent: new Map(), debits: [], grants: [] };
  const outcomes: Outcome[] = [];
  let issued = 0;
  const client = async () => {
    while (issued < options.operations) {
      issued += 1;
      outcomes.push(...(await randomOperation(target, pools, random, issued)));
    }
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  return outcomes;
}

async function randomOperation(
  target: LoadTarget,
  pools: Pools,
  random: () => number,
  index: number,
): Promise<Outcome[]> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const customer = pick(target.customers);
  const currency = pick(currencies);
  const roll = random();
  const key = `k${index}`;
  if (roll < 0.3) {
    const body = { currency, amount: 1 + Math.floor(random() * 40), idempotency_key: key };
    return [await send(target, pools, 'debit', customer, 'debits', body)];
  }
  if (roll < 0.42) {
    const [earliestMs, latestMs] = target.expiryRangeMs ?? [60_000, 660_000];
    const spanMs = latestMs - earliestMs;
    const expiresInMs = random() < 0.5 ? null : earliestMs + Math.floor(random() * spanMs);
    const body = {
      currency,
      amount: 1 + Math.floor(random() * 60),
      category: pick(['paid', 'promotional']),
      idempotency_key: key,
      ...(expiresInMs === null ? {} : { expires_at: isoAt(target.nowMs() + expiresInMs) }),
    };
    return [await send(target, pools, 'grant', customer, 'grants', body)];
  }
  if (roll < 0.5 && pools.debits.length > 0) {
    const debit = pick(pools.debits);
    const body = {
      debit_id: debit.id,
      amount: 1 + Math.floor(random() * 20),
      idempotency_key: key,
    };
    return [await send(target, pools, 'refund', debit.customer, 'refunds', body)];
  }
  if (roll < 0.54 && pools.grants.length > 0) {
    const grant = pick(pools.grants);
    const path = `grants/${grant.id}/void`;
    return [await send(target, pools, 'void', grant.customer, path, { idempotency_key: key })];
  }
  if (roll < 0.66 && pools.sent.size > 0) return replay(target, pools, random);
  if (roll < 0.78) return usage(target, customer, random, index);
  if (roll < 0.82) return [await job(target)];
  if (roll < 0.86 && target.advance !== undefined) target.advance(30_000);
  const body = { currency, amount: 1 + Math.floor(random() * 5), idempotency_key: key };
  // Two requests with one key at the same instant: one writes, the other replays or waits.
  return Promise.all([
    send(target, pools, 'debit', customer, 'debits', body),
    send(target, pools, 'debit', customer, 'debits', body),
  ]);
}

/** Sends an earlier request again: as it was, or with a changed body (then refused). */
async function replay(target: LoadTarget, pools: Pools, random: () => number) {
  const keys = [...pools.sent.keys()];
  const key = keys[Math.floor(random() * keys.length)] as string;
  const first = pools.sent.get(key);
  if (first === undefined) return [];
  const changed = random() < 0.3;
  const body = changed ? { ...(first.body as object), reference: 'changed' } : first.body;
  const kind = first.path.split('/').at(-1)?.replace(/s$/, '') as Outcome['kind'];
  return [await send(target, pools, kind, first.customer, first.path, body as object)];
}

async function usage(target: LoadTarget, customer: string, random: () => number, index: number) {
  const count = 1 + Math.floor(random() * 4);
  const keyBase = random() < 0.3 ? `u${Math.floor(index / 7)}` : `u${index}`;
  const events = Array.from({ length: count }, (_, position) => ({
    key: `${keyBase}-${position}`,
    customer,
    feature: 'chat',
    quantity: 1 + Math.floor(random() * 3),
    time: target.nowMs(),
  }));
  const response = await fetch(`${pickUrl(target, random)}/v1/usage`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${target.runtimeKey}`,
      'content-type': 'application/msgpack',
    },
    body: packr.pack({ schema_version: 1, events }),
  });
  const body = await response.json();
  return [{ key: keyBase, customer, kind: 'usage' as const, status: response.status, body }];
}

async function job(target: LoadTarget): Promise<Outcome> {
  const response = await fetch(`${target.baseUrls[0]}/v1/jobs/ledger`, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.adminKey}`, 'content-type': 'application/json' },
    body: '{}',
  });
  return {
    key: '',
    customer: '',
    kind: 'job',
    status: response.status,
    body: await response.json(),
  };
}

async function send(
  target: LoadTarget,
  pools: Pools,
  kind: Outcome['kind'],
  customer: string,
  path: string,
  body: { idempotency_key?: string } & object,
): Promise<Outcome> {
  const key = body.idempotency_key ?? '';
  if (!pools.sent.has(key)) pools.sent.set(key, { customer, path, body });
  const url = `${pickUrl(target, Math.random)}/v1/customers/${customer}/${path}`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (response.status === 201 && kind === 'debit' && answer.id !== null) {
    pools.debits.push({ customer, id: answer.id });
  }
  if (response.status === 201 && kind === 'grant') pools.grants.push({ customer, id: answer.id });
  return { key, customer, kind, status: response.status, body: answer };
}

function pickUrl(target: LoadTarget, random: () => number): string {
  return target.baseUrls[Math.floor(random() * target.baseUrls.length)] as string;
}

function isoAt(ms: number): string {
  return new Date(ms).toISOString();
}

/** The statuses each kind of request may answer under load; anything else is a failure. */
export const expectedStatuses: Record<Outcome['kind'], readonly number[]> = {
  grant: [201, 400, 409, 422],
  debit: [201, 402, 409, 422],
  refund: [201, 409, 422],
  void: [200, 409, 422],
  usage: [200],
  job: [200],
};

export { type Entry };
