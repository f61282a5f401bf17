import { createHash } from 'node:crypto';
import { TollgateError } from '@tollgate/core';
import type { StoreTransaction } from '../store/store.js';

export interface Outcome {
  status: number;
  body: unknown;
}

/**
 * Runs `work` once per idempotency key. A retry with the same key and the same body gets
 * the first response again; the same key with another body is refused with 422, because
 * answering it would hide that the second request was never applied.
 */
export async function once(
  tx: StoreTransaction,
  scope: string,
  key: string,
  request: unknown,
  work: () => Promise<Outcome>,
): Promise<Outcome> {
  const requestHash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
  const previous = await tx.getIdempotentResponse(scope, key);
  if (previous !== null) {
    if (previous.requestHash !== requestHash) {
      throw new TollgateError(
        'TOLLGATE_ERR_IDEMPOTENCY_MISMATCH',
        'idempotency_key: already used with a different request body',
        { field: 'idempotency_key' },
      );
    }
    return { status: previous.status, body: previous.body };
  }
  const outcome = await work();
  await tx.saveIdempotentResponse(scope, key, { requestHash, ...outcome });
  return outcome;
}
