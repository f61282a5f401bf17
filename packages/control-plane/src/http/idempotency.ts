import { createHash, randomUUID } from 'node:crypto';
import { TollgateError } from '@tollgate/core';
import type { Store, StoreTransaction } from '../store/store.js';

export interface Outcome {
  status: number;
  body: unknown;
}

export interface IdempotentRequest {
  environment: string;
  /** Keys are unique within a scope: `ledger:<customer>` for every ledger write. */
  scope: string;
  key: string;
  /** What makes two requests the same: the route and its body. */
  request: unknown;
  nowMs: number;
  /** A claim older than this was left by a process that died, and is taken over. */
  claimTimeoutMs: number;
}

/**
 * Runs `work` once per idempotency key, in three transactions so that a second request
 * can see that the first is still running:
 *
 * 1. claim the key (a `pending` row); a finished key replays its first response when the
 *    request is the same, and is refused with 422 when it differs; a pending key answers
 *    409 (in flight), or 422 when the bodies differ;
 * 2. run `work` and store its response under the claim, atomically with its writes;
 * 3. if `work` throws, drop the claim: a refused request leaves no trace and its key may
 *    be used again (a debit refused for lack of credits can be retried after a top-up).
 */
export async function runOnce(
  store: Store,
  request: IdempotentRequest,
  work: (tx: StoreTransaction) => Promise<Outcome>,
): Promise<Outcome> {
  const { environment, scope, key } = request;
  const requestHash = requestHashOf(request.request);
  const token = randomUUID();
  const claim = await store.transaction(environment, (tx) =>
    tx.claimIdempotencyKey({
      scope,
      key,
      requestHash,
      token,
      nowMs: request.nowMs,
      staleBeforeMs: request.nowMs - request.claimTimeoutMs,
    }),
  );
  if (claim.state !== 'claimed' && claim.requestHash !== requestHash) throw mismatch();
  if (claim.state === 'done') return claim.response;
  if (claim.state === 'in_flight') throw inFlight();

  try {
    return await store.transaction(environment, async (tx) => {
      const outcome = await work(tx);
      if (!(await tx.completeIdempotencyKey(scope, key, token, outcome))) throw inFlight();
      return outcome;
    });
  } catch (error) {
    await store.transaction(environment, (tx) => tx.releaseIdempotencyKey(scope, key, token));
    throw error;
  }
}

/** What identifies a request under its key: the SHA-256 of its canonical JSON. */
export function requestHashOf(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

/** JSON with object keys sorted, so that `{a, b}` and `{b, a}` are the same request. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) return inner;
    const entries = Object.entries(inner).sort(([left], [right]) => (left < right ? -1 : 1));
    return Object.fromEntries(entries);
  });
}

function mismatch(): TollgateError {
  return new TollgateError(
    'TOLLGATE_ERR_IDEMPOTENCY_MISMATCH',
    'idempotency_key: already used with a different request body',
    { field: 'idempotency_key' },
  );
}

function inFlight(): TollgateError {
  return new TollgateError(
    'TOLLGATE_ERR_IDEMPOTENCY_IN_FLIGHT',
    'idempotency_key: the first request with this key is still in flight; retry later',
    { field: 'idempotency_key' },
  );
}
