import { httpStatusByReason } from '@tollgate/core';
import type { Decision, ReasonName } from '@tollgate/core';
import type { Response } from 'express';

/** Titles of the problem documents a denial is answered with (RFC 9457). */
const titleByReason: Readonly<Record<ReasonName, string>> = {
  allowed: 'Allowed',
  unknown_customer: 'Unknown customer',
  unknown_feature: 'Unknown feature',
  no_access: 'No access to this feature',
  no_seat: 'No seat assigned',
  limit_exceeded: 'Limit exceeded',
  insufficient_credits: 'Insufficient credits',
  stale_snapshot: 'Entitlements are out of date',
};

/** The body of a denial, `application/problem+json`. */
export interface DenialProblem {
  type: string;
  title: string;
  status: number;
  reason: ReasonName;
  limit: number | null;
  used: number;
  remaining: number | null;
  /** ISO 8601 instant at which the period resets, or null when it never does. */
  reset_at: string | null;
  snapshot_version: number;
}

export function denialProblem(decision: Decision): DenialProblem {
  const reason = decision.reasonName;
  const status = httpStatusByReason[reason];
  return {
    type: `https://tollgate.dev/problems/${reason}`,
    title: titleByReason[reason],
    status,
    reason,
    limit: decision.limit,
    used: decision.used,
    remaining: decision.remaining,
    reset_at: decision.resetAtMs > 0 ? new Date(decision.resetAtMs).toISOString() : null,
    snapshot_version: decision.snapshotVersion,
  };
}

export function sendDenial(res: Response, decision: Decision, nowMs: number): void {
  const problem = denialProblem(decision);
  if (problem.status === 429 && decision.resetAtMs > 0) {
    res.setHeader('Retry-After', String(secondsUntil(decision.resetAtMs, nowMs)));
  }
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
}

/**
 * Sets the IETF draft rate-limit headers (draft-ietf-httpapi-ratelimit-headers) for a
 * limited metered feature: the policy's quota, what remains, and seconds until reset.
 *
 *     RateLimit-Policy: "ai_requests";q=100
 *     RateLimit: "ai_requests";r=42;t=3600
 */
export function setRateLimitHeaders(
  res: Response,
  feature: string,
  decision: Decision,
  nowMs: number,
): void {
  if (decision.limit === null || decision.remaining === null) return;
  res.setHeader('RateLimit-Policy', `"${feature}";q=${decision.limit}`);
  const reset = decision.resetAtMs > 0 ? `;t=${secondsUntil(decision.resetAtMs, nowMs)}` : '';
  res.setHeader('RateLimit', `"${feature}";r=${decision.remaining}${reset}`);
}

/** Whole seconds, rounded up so a client that waits that long finds the period reset. */
function secondsUntil(instantMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((instantMs - nowMs) / 1000));
}
