import type { Reason, ReasonName } from './reasons.js';

/**
 * What every check returns. Amounts are integers in the feature's smallest unit.
 *
 * The figures describe the state after the operation: for `check` nothing changed, so
 * they are the current state; for an allowed `consume` they include this request.
 *
 * - metered and config: `limit` is the limit (null when unlimited), `used` the usage in
 *   the current period, `remaining` = max(0, limit − used) (null when unlimited).
 * - credits: `limit` is null, `used` is the cost of this request in credits, and
 *   `remaining` the available balance (negative only under a soft limit).
 * - boolean and seats: `limit`, `used` and `remaining` are null/0/null.
 */
export interface Decision {
  allowed: boolean;
  reason: Reason;
  reasonName: ReasonName;
  limit: number | null;
  used: number;
  remaining: number | null;
  /** Units this request takes: quantity × cost for credits, quantity for metered. */
  cost: number;
  /** Epoch milliseconds at which the current period ends; 0 when the feature never resets. */
  resetAtMs: number;
  snapshotVersion: number;
}
