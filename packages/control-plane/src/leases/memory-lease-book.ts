import type { GrantRequest, GrantResult, LeaseBook, LeaseRecord } from './lease-book.js';

interface MemoryLease extends LeaseRecord {
  reclaimAtMs: number;
}

interface MemoryPool {
  outstanding: number;
  version: number;
  leases: Set<string>;
}

/**
 * Lease accounting in this process's memory, for a single control-plane instance. Every
 * method runs to completion without awaiting, so each is atomic. A restart forgets the
 * leases: runtimes keep spending what they hold while new grants ignore it, so the
 * overage after a restart is bounded by the outstanding leases at that moment. Use
 * `RedisLeaseBook` for several instances or restarts without that window.
 */
export class MemoryLeaseBook implements LeaseBook {
  readonly #pools = new Map<string, MemoryPool>();
  readonly #leases = new Map<string, MemoryLease>();

  async poolVersion(environment: string, pool: string): Promise<number> {
    return this.#pool(environment, pool).version;
  }

  async grant(request: GrantRequest): Promise<GrantResult | null> {
    const pool = this.#pool(request.environment, request.pool);
    this.#reclaim(pool, request.nowMs);
    const moved = pool.version - request.expectedVersion;
    if (moved !== 0 && !request.final) return null;

    const id = `${request.environment} ${request.leaseId}`;
    const lease = this.#leases.get(id) ?? {
      pool: request.pool,
      cap: 0,
      consumed: 0,
      reclaimAtMs: request.reclaimAtMs,
    };
    const free = Math.max(0, request.available - pool.outstanding - moved);
    let granted = Math.min(request.requested, free);
    if (granted < request.minimum) granted = 0;
    lease.cap += granted;
    lease.reclaimAtMs = request.reclaimAtMs;
    pool.outstanding += granted;
    this.#leases.set(id, lease);
    pool.leases.add(id);
    return { granted, cap: lease.cap, outstanding: pool.outstanding };
  }

  async recordUsage(environment: string, leaseId: string, amount: number): Promise<void> {
    const lease = this.#leases.get(`${environment} ${leaseId}`);
    if (lease === undefined) return;
    const pool = this.#pool(environment, lease.pool);
    const covered = Math.max(0, Math.min(amount, lease.cap - lease.consumed));
    lease.consumed += amount;
    pool.outstanding -= covered;
    pool.version += covered;
  }

  async returnLease(environment: string, leaseId: string, used: number): Promise<boolean> {
    const lease = this.#leases.get(`${environment} ${leaseId}`);
    if (lease === undefined) return false;
    const pool = this.#pool(environment, lease.pool);
    const cap = Math.max(lease.consumed, Math.min(lease.cap, used));
    pool.outstanding -= Math.max(0, lease.cap - cap);
    lease.cap = cap;
    return true;
  }

  async lease(environment: string, leaseId: string): Promise<LeaseRecord | null> {
    const lease = this.#leases.get(`${environment} ${leaseId}`);
    return lease === undefined ? null : { ...lease };
  }

  async close(): Promise<void> {}

  #pool(environment: string, name: string): MemoryPool {
    const id = `${environment} ${name}`;
    let pool = this.#pools.get(id);
    if (pool === undefined) {
      pool = { outstanding: 0, version: 0, leases: new Set() };
      this.#pools.set(id, pool);
    }
    return pool;
  }

  /** Leases past their reclaim instant give back what was never ingested under them. */
  #reclaim(pool: MemoryPool, nowMs: number): void {
    for (const id of pool.leases) {
      const lease = this.#leases.get(id);
      if (lease === undefined || lease.reclaimAtMs > nowMs) continue;
      pool.outstanding -= Math.max(0, lease.cap - lease.consumed);
      pool.leases.delete(id);
      this.#leases.delete(id);
    }
  }
}
