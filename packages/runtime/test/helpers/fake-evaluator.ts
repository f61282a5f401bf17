// Temporary stand-in until @tollgate/evaluator exports ReferenceEvaluator.
import { FeatureKind, Reason, reasonName } from '@tollgate/core';
import type { Decision } from '@tollgate/core';
import { decodeSnapshot } from '@tollgate/snapshot';
import type { SnapshotInput } from '@tollgate/snapshot';

export class FakeEvaluator {
  #input: SnapshotInput | null = null;
  #used = new Map<string, number>();
  #held = new Map<string, number>();
  get snapshotVersion(): number {
    return this.#input?.snapshotVersion ?? 0;
  }
  get usageWatermark(): number {
    return this.#input?.usageWatermark ?? 0;
  }
  get createdAtMs(): number {
    return this.#input?.createdAtMs ?? 0;
  }
  load(bytes: Uint8Array): void {
    this.#input = decodeSnapshot(bytes);
    this.#used.clear();
    this.#held.clear();
  }
  featureIndex(key: string): number {
    return this.#input?.features.findIndex((f) => f.key === key) ?? -1;
  }
  check(c: string, f: number, q: number, now: number): Decision {
    return this.#decide(c, f, q, now, 'check');
  }
  consume(c: string, f: number, q: number, now: number): Decision {
    return this.#decide(c, f, q, now, 'consume');
  }
  hold(c: string, f: number, q: number, now: number): Decision {
    return this.#decide(c, f, q, now, 'hold');
  }
  release(c: string, f: number, q: number): void {
    this.#add(this.#held, c, f, -q);
  }
  record(c: string, f: number, q: number): void {
    this.#add(this.#used, c, f, q);
  }
  settle(c: string, f: number, held: number, actual: number): number {
    this.#add(this.#held, c, f, -held);
    const d = this.#decide(c, f, 0, 0, 'check');
    const unit =
      this.#input!.features[f]!.kind === FeatureKind.Credits
        ? this.#input!.features[f]!.costPerUnit
        : 1;
    const room = d.remaining === null ? actual : Math.floor(Math.max(0, d.remaining) / unit);
    const charged = Math.min(actual, room);
    this.#add(this.#used, c, f, charged);
    return charged;
  }
  #add(map: Map<string, number>, c: string, f: number, q: number): void {
    const k = `${c} ${f}`;
    map.set(k, (map.get(k) ?? 0) + q);
  }
  #decide(c: string, f: number, q: number, now: number, op: string): Decision {
    const input = this.#input!;
    const base = {
      limit: null,
      used: 0,
      remaining: null,
      cost: 0,
      resetAtMs: 0,
      snapshotVersion: input.snapshotVersion,
    };
    const deny = (reason: Reason, extra = {}): Decision => ({
      ...base,
      ...extra,
      allowed: false,
      reason,
      reasonName: reasonName(reason),
    });
    const customer = input.customers.find((x) => x.id === c);
    if (!customer) return deny(Reason.UnknownCustomer);
    const feature = input.features[f];
    if (!feature) return deny(Reason.UnknownFeature);
    const ent = customer.entitlements[f]!;
    if (!ent.access) return deny(Reason.NoAccess);
    const k = `${c} ${f}`;
    const used = this.#used.get(k) ?? 0;
    const held = this.#held.get(k) ?? 0;
    const allow = (extra: Partial<Decision>): Decision => {
      if (op === 'consume' && feature.kind !== FeatureKind.Config) this.#add(this.#used, c, f, q);
      if (op === 'hold') this.#add(this.#held, c, f, q);
      return { ...base, ...extra, allowed: true, reason: Reason.Allowed, reasonName: 'allowed' };
    };
    if (feature.kind === FeatureKind.Metered) {
      const total = ent.used + used + held;
      if (ent.limit === null) return allow({ used: total + q, cost: q, resetAtMs: ent.resetAtMs });
      const after = op === 'check' ? total : total + q;
      const fig = { limit: ent.limit, cost: q, resetAtMs: ent.resetAtMs };
      if (total + q > ent.limit)
        return deny(Reason.LimitExceeded, {
          ...fig,
          used: total,
          remaining: Math.max(0, ent.limit - total),
        });
      return allow({ ...fig, used: after, remaining: ent.limit - after });
    }
    if (feature.kind === FeatureKind.Credits) {
      const cost = q * feature.costPerUnit;
      const balance =
        customer.balances[feature.currencyIndex]!.balance - (used + held) * feature.costPerUnit;
      if (cost > balance)
        return deny(Reason.InsufficientCredits, { used: 0, cost, remaining: balance });
      return allow({ used: cost, cost, remaining: op === 'check' ? balance : balance - cost });
    }
    if (feature.kind === FeatureKind.Config) {
      if (ent.limit !== null && q > ent.limit)
        return deny(Reason.LimitExceeded, { limit: ent.limit, used: q, remaining: 0 });
      return allow({
        limit: ent.limit,
        used: q,
        remaining: ent.limit === null ? null : ent.limit - q,
      });
    }
    return allow({});
  }
}
