import type { Clock } from '@tollgate/core';
import { ControlPlaneError } from './control-plane-client.js';
import type { ControlPlaneClient } from './control-plane-client.js';
import { channelNames, publish } from './diagnostics.js';

export interface LeaseTermsOptions {
  /** Pool units (credits, or the feature's unit) asked for per grant. */
  sliceSize: number;
  /** Renew once less than this fraction of the last slice is left. */
  renewBelowRatio: number;
  /** Stop spending a lease this long before it expires, so no use outlives it. */
  expirySafetyMs: number;
}

interface HeldLease {
  id: string | null;
  cap: number;
  used: number;
  expiresAtMs: number;
  renewing: Promise<void> | null;
}

/**
 * The leases this runtime holds, one per customer and feature. Spending within a lease is
 * local and synchronous; a renewal starts early, in the background, once the remaining
 * slice runs low or half the lease's life has passed, so the hot path rarely waits. On
 * close every lease is returned with what was used under it.
 */
export class LeaseKeeper {
  readonly #client: ControlPlaneClient;
  readonly #terms: LeaseTermsOptions;
  readonly #clock: Clock;
  readonly #runtimeId: string;
  readonly #leases = new Map<string, HeldLease>();

  constructor(
    client: ControlPlaneClient,
    terms: LeaseTermsOptions,
    clock: Clock,
    runtimeId: string,
  ) {
    this.#client = client;
    this.#terms = terms;
    this.#clock = clock;
    this.#runtimeId = runtimeId;
  }

  /** Spends `amount` from a live lease; null when none covers it. Never waits. */
  trySpend(customer: string, feature: string, amount: number, nowMs: number) {
    const lease = this.#leases.get(`${customer} ${feature}`);
    if (lease === undefined || lease.id === null) return null;
    const live = nowMs < lease.expiresAtMs - this.#terms.expirySafetyMs;
    if (live && lease.cap - lease.used >= amount) {
      lease.used += amount;
      if (this.#runningLow(lease, nowMs)) this.#renew(customer, feature, lease);
      return { lease: lease.id, remaining: lease.cap - lease.used };
    }
    return null;
  }

  /**
   * Spends what a live lease has of `amount`, up to all of it, and returns what it spent
   * (0 when no lease is live). For a settle beyond its hold, which cannot wait.
   */
  spendUpTo(customer: string, feature: string, amount: number, nowMs: number) {
    const lease = this.#leases.get(`${customer} ${feature}`);
    if (lease === undefined || lease.id === null) return 0;
    if (nowMs >= lease.expiresAtMs - this.#terms.expirySafetyMs) return 0;
    const spent = Math.min(amount, lease.cap - lease.used);
    lease.used += spent;
    if (this.#runningLow(lease, nowMs)) this.#renew(customer, feature, lease);
    return spent;
  }

  /**
   * Gives back what a hold took from lease `id` and did not use. Nothing when the lease
   * was replaced meanwhile: the old one was returned with what it had counted.
   */
  giveBack(customer: string, feature: string, id: string, amount: number): void {
    const lease = this.#leases.get(`${customer} ${feature}`);
    if (lease === undefined || lease.id !== id) return;
    lease.used = Math.max(0, lease.used - amount);
  }

  /** Starts a grant for `amount` in the background, for a synchronous call that could not wait. */
  prefetch(customer: string, feature: string, amount: number): void {
    const key = `${customer} ${feature}`;
    let lease = this.#leases.get(key);
    if (lease === undefined) {
      lease = { id: null, cap: 0, used: 0, expiresAtMs: 0, renewing: null };
      this.#leases.set(key, lease);
    }
    void this.#renew(customer, feature, lease, amount);
  }

  /** Renews (waiting for it) and spends; null when the control plane has nothing left. */
  async spend(customer: string, feature: string, amount: number) {
    const key = `${customer} ${feature}`;
    let lease = this.#leases.get(key);
    if (lease === undefined) {
      lease = { id: null, cap: 0, used: 0, expiresAtMs: 0, renewing: null };
      this.#leases.set(key, lease);
    }
    // Two rounds: one renewal may have been started for a smaller amount by another call.
    for (let round = 0; round < 2; round++) {
      await this.#renew(customer, feature, lease, amount);
      const spent = this.trySpend(customer, feature, amount, this.#clock());
      if (spent !== null) return spent;
    }
    return null;
  }

  /** Returns every lease with what was used under it. Call after usage is delivered. */
  async returnAll(): Promise<void> {
    for (const lease of this.#leases.values()) {
      await lease.renewing;
      if (lease.id === null) continue;
      const path = `/v1/leases/${encodeURIComponent(lease.id)}/return`;
      await this.#client.postJson(path, { used: lease.used }).catch(() => undefined);
      lease.id = null;
    }
  }

  #runningLow(lease: HeldLease, nowMs: number): boolean {
    const left = lease.cap - lease.used;
    return (
      left < this.#terms.sliceSize * this.#terms.renewBelowRatio ||
      nowMs > lease.expiresAtMs - 15_000
    );
  }

  /** One renewal at a time per lease; callers share it. */
  #renew(customer: string, feature: string, lease: HeldLease, amount = 0): Promise<void> {
    lease.renewing ??= this.#ask(customer, feature, lease, amount).finally(() => {
      lease.renewing = null;
    });
    return lease.renewing;
  }

  async #ask(customer: string, feature: string, lease: HeldLease, amount: number): Promise<void> {
    const nowMs = this.#clock();
    const expired = lease.id !== null && nowMs >= lease.expiresAtMs - this.#terms.expirySafetyMs;
    if (expired) await this.#retire(lease);
    const requested = Math.max(this.#terms.sliceSize, amount);
    const body = {
      customer,
      feature,
      requested,
      ...(lease.id === null ? {} : { lease: lease.id }),
    };
    try {
      const answer = await this.#client.postJson('/v1/leases', body);
      lease.id = String(answer['lease']);
      lease.cap = Number(answer['cap']);
      lease.expiresAtMs = Number(answer['expires_at_ms']);
      publish(channelNames.leaseGranted, {
        runtimeId: this.#runtimeId,
        customer,
        feature,
        ...answer,
      });
    } catch (error) {
      if (error instanceof ControlPlaneError && leaseGone(error.body)) lease.id = null;
      publish(channelNames.leaseFailed, { runtimeId: this.#runtimeId, customer, feature, error });
    }
  }

  /** An expired lease is returned and a new one starts from zero. */
  async #retire(lease: HeldLease): Promise<void> {
    const path = `/v1/leases/${encodeURIComponent(lease.id!)}/return`;
    await this.#client.postJson(path, { used: lease.used }).catch(() => undefined);
    lease.id = null;
    lease.cap = 0;
    lease.used = 0;
  }
}

function leaseGone(body: unknown): boolean {
  return (body as { code?: unknown } | undefined)?.code === 'TOLLGATE_ERR_LEASE_NOT_FOUND';
}
