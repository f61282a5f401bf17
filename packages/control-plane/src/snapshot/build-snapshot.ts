import { featureKindFromName } from '@tollgate/core';
import type { Catalog } from '@tollgate/catalog';
import type { SnapshotFeature, SnapshotInput } from '@tollgate/snapshot';
import { rolloverCustomer } from '../ledger/rollover.js';
import { resolveCustomer } from '../resolve-customer.js';
import type { StoreTransaction } from '../store/store.js';

/** A snapshot's content: everything except the version and creation instant. */
export type SnapshotContent = Omit<SnapshotInput, 'snapshotVersion' | 'createdAtMs'>;

/**
 * Resolves every customer of the transaction's environment at `nowMs`. Credits are rolled
 * over first (expiries and recurring grants due by `nowMs` are applied), so the balances
 * in the snapshot are the ones a debit at `nowMs` would see.
 */
export async function buildSnapshotContent(
  tx: StoreTransaction,
  catalog: Catalog,
  nowMs: number,
): Promise<SnapshotContent> {
  const currencyCodes = [...catalog.currencies.keys()];
  const features: SnapshotFeature[] = [...catalog.features.values()].map((feature) => ({
    key: feature.key,
    kind: featureKindFromName(feature.kind),
    currencyIndex: feature.currency === null ? 0 : currencyCodes.indexOf(feature.currency),
    costPerUnit: feature.kind === 'credits' ? feature.cost : 0,
    requiresSeat: feature.requiresSeat,
  }));

  const customers = [];
  // Listed in id order, so the locks are taken in the order every other writer uses.
  for (const customer of await tx.listCustomers()) {
    await tx.lockCustomer(customer.id);
    await rolloverCustomer(tx, catalog, customer.id, nowMs);
    customers.push(await resolveCustomer(tx, catalog, customer, nowMs));
  }

  return {
    usageWatermark: await tx.usageWatermark(),
    currencies: currencyCodes.map((code) => ({ code })),
    features,
    customers,
  };
}
