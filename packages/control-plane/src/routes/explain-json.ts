import type { ResolvedEntitlement, Resolution } from '@tollgate/catalog';
import { formatInstant } from '../http/body.js';

/**
 * The explain answer as JSON: the value, who decided it, and every source considered in
 * the order applied. `seat` is null unless a user was named.
 */
export function explainJson(
  customerId: string,
  resolution: Resolution,
  entry: ResolvedEntitlement,
  extra: { used: number | null; user: string | null; seat: boolean | null },
) {
  const seatDenied = entry.requiresSeat && extra.seat === false;
  return {
    customer: customerId,
    feature: entry.feature,
    kind: entry.kind,
    at: formatInstant(resolution.atMs),
    status: resolution.status,
    plan: resolution.plan,
    time_zone: resolution.timeZone,
    access: entry.access,
    limit: entry.limit,
    unlimited: entry.access && entry.limit === null,
    behavior: entry.behavior,
    used: extra.used,
    period_start: formatInstant(entry.period?.startMs ?? null),
    period_end: formatInstant(entry.period?.endMs ?? null),
    requires_seat: entry.requiresSeat,
    user: extra.user,
    seat_held: extra.seat,
    reason: !entry.access ? 'no_access' : seatDenied ? 'no_seat' : 'allowed',
    winner: entry.winner,
    trace: entry.trace.map((step) => ({
      source: step.source,
      name: step.name,
      rule: step.rule,
      active: step.active,
      access: step.access,
      limit: step.limit,
      access_after: step.accessAfter,
      limit_after: step.limitAfter,
      note: step.note,
    })),
    next_change_at: formatInstant(resolution.nextChangeAtMs),
  };
}
