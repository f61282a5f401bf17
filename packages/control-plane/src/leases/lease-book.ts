/**
 * Lease accounting: which slice of a customer's hard balance or limit each runtime may
 * spend on its own. A **pool** is what slices are carved from: `credits:<currency>` for
 * a credit balance, `metered:<feature>:<periodEndMs>` for one period of a metered limit
 * (each prefixed with the customer: `<customer>:credits:<currency>`).
 *
 * A lease's **cap** is what it was granted; its **consumed** is the usage the control
 * plane has ingested under it. The pool's **outstanding** is the sum over its leases of
 * `cap − consumed`: spendable by some runtime, not yet debited in the store. A grant
 * takes at most `available − outstanding`, where `available` is the store's balance (or
 * limit less usage) read just before.
 *
 * The store read and the grant are two steps, so the grant names the pool version it
 * read before the store: the version is the running total of usage that lowered the
 * pool's outstanding, and usage ingested between the two steps would otherwise count
 * twice as free (once out of the store, once out of the lease). A grant that sees the
 * version moved is refused, to be retried; the last attempt instead subtracts the move
 * from what it grants. That is exact for usage the store read missed and conservative
 * (grants less) for usage it already saw, so it never grants more than is free. Usage
 * that is not under a lease and lands between the two steps is not seen by the grant;
 * the overage it allows is bounded by that usage.
 */
export interface LeaseBook {
  /** The pool's version: the total of ingested usage that lowered its outstanding. */
  poolVersion(environment: string, pool: string): Promise<number>;
  /**
   * Carves up to `requested` (at least `minimum`, else nothing) for `leaseId`, creating
   * the lease or adding to it. Returns null when the pool version moved since it was read,
   * unless `final`, which grants less by the move instead.
   */
  grant(request: GrantRequest): Promise<GrantResult | null>;
  /** Counts ingested usage under a lease; an unknown (reclaimed) lease changes nothing. */
  recordUsage(environment: string, leaseId: string, amount: number): Promise<void>;
  /**
   * Ends a lease: its cap becomes `used` (what the runtime spent under it), so the rest
   * is free again once the usage in flight arrives. False when the lease is unknown.
   */
  returnLease(environment: string, leaseId: string, used: number): Promise<boolean>;
  /** The lease's pool and cap, or null when the book does not hold it. */
  lease(environment: string, leaseId: string): Promise<LeaseRecord | null>;
  close(): Promise<void>;
}

export interface GrantRequest {
  environment: string;
  pool: string;
  leaseId: string;
  /** What the store says the pool holds, less nothing leased. */
  available: number;
  requested: number;
  minimum: number;
  /** The pool version read before `available`. */
  expectedVersion: number;
  /** Grant less by how far the version moved, rather than refuse. */
  final: boolean;
  nowMs: number;
  /** Leases whose `reclaimAtMs` has passed give back what was never ingested. */
  reclaimAtMs: number;
}

export interface GrantResult {
  granted: number;
  /** The lease's cap after the grant. */
  cap: number;
  outstanding: number;
}

export interface LeaseRecord {
  pool: string;
  cap: number;
  consumed: number;
}
