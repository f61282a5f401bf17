import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Catalog, FeatureDefinition } from '@tollgate/catalog';
import { LimitBehavior, TollgateError } from '@tollgate/core';
import { resolveCustomer } from '../resolve-customer.js';
import { rolloverCustomer } from '../ledger/rollover.js';
import type { Store } from '../store/store.js';
import type { LeaseBook } from './lease-book.js';

export interface LeaseTerms {
  /** How long a runtime may spend a lease before it must extend it. */
  ttlMs: number;
  /** After expiry, how long usage decided under the lease may still arrive. */
  reclaimDelayMs: number;
  /**
   * Grant attempts while ingested usage keeps moving the pool's version; the last one
   * grants less by the move rather than fail (see `lease-book.ts`).
   */
  attemptsMax: number;
}

export const defaultLeaseTerms: LeaseTerms = {
  ttlMs: 30_000,
  reclaimDelayMs: 60_000,
  attemptsMax: 16,
};

export interface LeaseGrant {
  lease: string;
  pool: string;
  /** Credits for a credits feature, the feature's unit for a metered one. */
  granted: number;
  cap: number;
  /** What the pool still had free after this grant. */
  free: number;
  expiresAtMs: number;
}

export interface LeaseAsk {
  customer: string;
  feature: string;
  /** In pool units: credits for a credits feature, the feature's unit otherwise. */
  requested: number;
  /** Grant nothing rather than less than this (a strict consume asks for all or none). */
  minimum: number;
  /** Extends this lease; a new one is created when absent. */
  lease?: string;
}

/**
 * Carves leases out of the store's balances and limits, with the accounting in a
 * `LeaseBook`. See `lease-book.ts` for the words and the atomicity argument.
 */
export class LeaseService {
  readonly #catalog: Catalog;
  readonly #store: Store;
  readonly #book: LeaseBook;
  readonly #terms: LeaseTerms;

  constructor(catalog: Catalog, store: Store, book: LeaseBook, terms: LeaseTerms) {
    this.#catalog = catalog;
    this.#store = store;
    this.#book = book;
    this.#terms = terms;
  }

  get book(): LeaseBook {
    return this.#book;
  }

  /**
   * The pool a feature's use draws on, and what one unit of the feature costs in it. A
   * metered pool is one period of the limit, named by the period's end (`periodEndMs`),
   * so a lease of the last period never spends the next one's quota.
   */
  poolOf(
    customer: string,
    feature: FeatureDefinition,
    periodEndMs = 0,
  ): { pool: string; unitCost: number } {
    if (feature.kind === 'credits' && feature.currency !== null) {
      return { pool: `${customer}:credits:${feature.currency}`, unitCost: feature.cost };
    }
    if (feature.kind === 'metered') {
      return { pool: `${customer}:metered:${feature.key}:${periodEndMs}`, unitCost: 1 };
    }
    throw unsupported(feature.key);
  }

  feature(key: string): FeatureDefinition {
    const feature = this.#catalog.features.get(key);
    if (feature === undefined) {
      throw new TollgateError('TOLLGATE_ERR_UNKNOWN_FEATURE', `feature: no feature named ${key}`, {
        field: 'feature',
      });
    }
    return feature;
  }

  /** Grants a new lease or extends one; retries while ingested usage moves the pool. */
  async grant(environment: string, ask: LeaseAsk, nowMs: number): Promise<LeaseGrant> {
    const feature = this.feature(ask.feature);
    const periodEndMs =
      feature.kind === 'metered'
        ? (await this.#read(environment, ask.customer, feature, nowMs)).periodEndMs
        : 0;
    const { pool } = this.poolOf(ask.customer, feature, periodEndMs);
    const lease = ask.lease ?? `lease_${randomUUID()}`;
    if (ask.lease !== undefined) {
      const held = await this.#book.lease(environment, ask.lease);
      if (held === null || held.pool !== pool) throw leaseNotFound(ask.lease);
    }
    const expiresAtMs = nowMs + this.#terms.ttlMs;
    for (let attempt = 1; ; attempt++) {
      const expectedVersion = await this.#book.poolVersion(environment, pool);
      const { available } = await this.#read(environment, ask.customer, feature, nowMs);
      const result = await this.#book.grant({
        environment,
        pool,
        leaseId: lease,
        available,
        requested: ask.requested,
        minimum: ask.minimum,
        expectedVersion,
        final: attempt >= this.#terms.attemptsMax,
        nowMs,
        reclaimAtMs: expiresAtMs + this.#terms.reclaimDelayMs,
      });
      if (result === null) {
        // Ingestion moved the pool between the two reads; back off so it can settle.
        await delay(Math.random() * Math.min(50, 2 ** attempt));
        continue;
      }
      const free = Math.max(0, available - result.outstanding);
      return { lease, pool, granted: result.granted, cap: result.cap, free, expiresAtMs };
    }
  }

  /**
   * What the store says the pool holds (a hard balance, or a hard limit less usage) and,
   * for a metered feature, the end of the period it counts (0 otherwise).
   */
  async #read(
    environment: string,
    customerId: string,
    feature: FeatureDefinition,
    nowMs: number,
  ): Promise<{ available: number; periodEndMs: number }> {
    return this.#store.transaction(environment, async (tx) => {
      const customer = await tx.getCustomer(customerId);
      if (customer === null) {
        throw new TollgateError('TOLLGATE_ERR_NOT_FOUND', `No customer ${customerId}`, {
          field: 'customer',
        });
      }
      await rolloverCustomer(tx, this.#catalog, customerId, nowMs);
      const resolved = await resolveCustomer(tx, this.#catalog, customer, nowMs);
      const featureIndex = [...this.#catalog.features.keys()].indexOf(feature.key);
      const entitlement = resolved.entitlements[featureIndex];
      if (entitlement === undefined || !entitlement.access) return { available: 0, periodEndMs: 0 };
      if (feature.kind === 'credits') {
        const currencyIndex = [...this.#catalog.currencies.keys()].indexOf(feature.currency!);
        const balance = resolved.balances[currencyIndex];
        if (balance === undefined || balance.behavior !== LimitBehavior.Hard) {
          throw unsupported(feature.key);
        }
        return { available: Math.max(0, balance.balance), periodEndMs: 0 };
      }
      if (entitlement.limit === null || entitlement.behavior !== LimitBehavior.Hard) {
        throw unsupported(feature.key);
      }
      const available = Math.max(0, entitlement.limit - entitlement.used);
      return { available, periodEndMs: entitlement.resetAtMs };
    });
  }
}

export function leaseNotFound(lease: string): TollgateError {
  return new TollgateError('TOLLGATE_ERR_LEASE_NOT_FOUND', `lease: no lease ${lease}`, {
    field: 'lease',
  });
}

function unsupported(feature: string): TollgateError {
  return new TollgateError(
    'TOLLGATE_ERR_LEASE_UNSUPPORTED',
    `feature: ${feature} has no hard balance or limit to lease`,
    { field: 'feature' },
  );
}
