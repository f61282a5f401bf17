import { httpStatusByReason } from '@tollgate/core';
import type { Decision, FeatureKindName, ReasonName, TollgateError } from '@tollgate/core';

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

/**
 * What an adapter writes to the client when it answers a request itself: a denial or a
 * coded error. Each framework copies the four fields onto its own response object.
 */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  /** With its charset, so every framework sends the same header. */
  contentType: string;
  /** The serialised body. */
  body: string;
}

/**
 * The problem document of a denied decision.
 *
 * @example
 * denialProblem(tollgate.check('cus_42', 'api_calls')).reason; // 'limit_exceeded'
 */
export function denialProblem(decision: Decision): DenialProblem {
  const reason = decision.reasonName;
  return {
    type: `urn:tollgate:problem:${reason}`,
    title: titleByReason[reason],
    status: httpStatusByReason[reason],
    reason,
    limit: decision.limit,
    used: decision.used,
    remaining: decision.remaining,
    reset_at: decision.resetAtMs > 0 ? new Date(decision.resetAtMs).toISOString() : null,
    snapshot_version: decision.snapshotVersion,
  };
}

/**
 * Extends or replaces the problem document of a denial, e.g. with the `error` member an
 * OpenAI client reads. The content type stays `application/problem+json`.
 */
export type DenialBody = (problem: DenialProblem) => object;

/** The answer to a denial; a 429 with a known reset also carries `Retry-After`. */
export function denialAnswer(
  decision: Decision,
  nowMs: number,
  body: DenialBody = (problem) => problem,
): HttpAnswer {
  const problem = denialProblem(decision);
  const headers: Record<string, string> = {};
  if (problem.status === 429 && decision.resetAtMs > 0) {
    headers['retry-after'] = String(secondsUntil(decision.resetAtMs, nowMs));
  }
  return {
    status: problem.status,
    headers,
    contentType: 'application/problem+json; charset=utf-8',
    body: JSON.stringify(body(problem)),
  };
}

/** The answer to a coded error: its status and its client-safe JSON, never its detail. */
export function errorAnswer(error: TollgateError): HttpAnswer {
  return {
    status: error.status,
    headers: {},
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify(error.toJSON()),
  };
}

/**
 * The IETF draft rate-limit headers (draft-ietf-httpapi-ratelimit-headers) for a limited
 * metered feature: the policy's quota, what remains, and seconds until reset. Empty for
 * any other feature, and for an unlimited one.
 *
 *     RateLimit-Policy: "ai_requests";q=100
 *     RateLimit: "ai_requests";r=42;t=3600
 */
export function rateLimitHeaders(
  feature: string,
  kind: FeatureKindName | null,
  decision: Decision,
  nowMs: number,
): Record<string, string> {
  if (kind !== 'metered' || decision.limit === null || decision.remaining === null) {
    return noHeaders;
  }
  const reset = decision.resetAtMs > 0 ? `;t=${secondsUntil(decision.resetAtMs, nowMs)}` : '';
  return {
    'ratelimit-policy': `"${feature}";q=${decision.limit}`,
    ratelimit: `"${feature}";r=${decision.remaining}${reset}`,
  };
}

/** Shared by every answer without headers, so an allowed request allocates none. */
export const noHeaders: Record<string, string> = Object.freeze({});

/** Whole seconds, rounded up so a client that waits that long finds the period reset. */
function secondsUntil(instantMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((instantMs - nowMs) / 1000));
}
