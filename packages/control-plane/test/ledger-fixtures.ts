import { parseCatalog } from '@tollgate/catalog';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { testSchema } from './postgres-schema.js';

/**
 * The ledger suites' catalog: one currency per limit behaviour, a micro-unit currency, one
 * that burns the soonest expiry first, a metered feature that resets daily, a monthly
 * plan whose unused credits roll over up to 30, and the same plan with a second recurring
 * grant of 7 promotional credits.
 */
export const ledgerCatalogYaml = `schema_version: 1
currencies:
  credits: {}
  soft_credits: { behavior: soft }
  capped_credits: { behavior: soft, overage_cap: 50 }
  micro_credits: { display_scale: 6 }
  expiring_credits: { burn_order: [soonest_expiry, oldest] }
features:
  chat: { kind: credits, currency: credits, cost: 1 }
  tokens: { kind: metered, reset: { every: day } }
plans:
  monthly:
    versions:
      - version: 1
        published_at: 2026-01-01T00:00:00Z
        entitlements: { chat: true }
        credits:
          - { currency: credits, amount: 100, category: paid, rollover_max: 30, cost_basis: 900 }
  monthly_plus:
    versions:
      - version: 1
        published_at: 2026-01-01T00:00:00Z
        entitlements: { chat: true }
        credits:
          - { currency: credits, amount: 100, category: paid, rollover_max: 30, cost_basis: 900 }
          - { currency: credits, amount: 7, category: promotional }
`;
export const ledgerCatalog = parseCatalog(ledgerCatalogYaml);

export type StoreKind = 'sqlite' | 'postgres';

export type LedgerHarness = Harness & {
  /** What `openStore` takes to open a second connection to the same database. */
  storeOptions: { databasePath?: string; databaseUrl?: string };
};

/** A harness on the named store; PostgreSQL gets a fresh schema, dropped on close. */
export async function startLedgerHarness(
  kind: StoreKind,
  start: string,
  catalog = ledgerCatalog,
  options: { idempotencyRetentionMs?: number; streamHeartbeatIntervalMs?: number } = {},
): Promise<LedgerHarness> {
  if (kind === 'sqlite') {
    const harness = await startHarness(start, { catalog, ...options });
    return { ...harness, storeOptions: { databasePath: harness.databasePath } };
  }
  const schema = testSchema('ledger');
  const harness = await startHarness(start, { catalog, databaseUrl: schema.url, ...options });
  return {
    ...harness,
    storeOptions: { databaseUrl: schema.url },
    async close() {
      await harness.close();
      await schema.drop();
    },
  };
}

export interface Entry {
  id: number;
  currency: string;
  kind: string;
  amount: number;
  grant_id: number | null;
  debit_id: number | null;
  at: string;
  actor: string;
  reference: string | null;
  idempotency_key: string | null;
  reason: string | null;
}

/** Every ledger entry of a customer, read page by page. */
export async function ledgerOf(harness: Harness, customer: string): Promise<Entry[]> {
  const collected: Entry[] = [];
  let after = 0;
  for (let page = 0; page < 10_000; page += 1) {
    const reply = await harness.call(
      'GET',
      `/v1/customers/${customer}/ledger?limit=1000&after=${after}`,
    );
    if (reply.status !== 200) throw new Error(`ledger read: ${reply.status}`);
    collected.push(...(reply.body.entries as Entry[]));
    if (reply.body.next_after === null) return collected;
    after = reply.body.next_after;
  }
  throw new Error('ledger pages did not end');
}

export async function balanceOf(harness: Harness, customer: string, currency: string) {
  const reply = await harness.call('GET', `/v1/customers/${customer}/balances`);
  if (reply.status !== 200) throw new Error(`balances read: ${reply.status}`);
  const found = reply.body.balances.find((entry: any) => entry.currency === currency);
  return found as { balance: number; grants: any[] };
}

export function sumOf(entries: readonly Entry[], currency: string): number {
  return entries
    .filter((entry) => entry.currency === currency)
    .reduce((total, entry) => total + entry.amount, 0);
}

/** Creates a customer and optionally grants it credits; returns the grant reply body. */
export async function customerWith(
  harness: Harness,
  id: string,
  grant?: Record<string, unknown>,
): Promise<any> {
  const created = await harness.call('POST', '/v1/customers', { id });
  if (created.status !== 201) throw new Error(`customer ${id}: ${created.status}`);
  if (grant === undefined) return null;
  const reply = await harness.call('POST', `/v1/customers/${id}/grants`, {
    currency: 'credits',
    category: 'paid',
    idempotency_key: `${id}-seed`,
    ...grant,
  });
  if (reply.status !== 201) throw new Error(`grant ${id}: ${JSON.stringify(reply.body)}`);
  return reply.body;
}

export function debit(harness: Harness, customer: string, body: Record<string, unknown>) {
  return harness.call('POST', `/v1/customers/${customer}/debits`, { currency: 'credits', ...body });
}
