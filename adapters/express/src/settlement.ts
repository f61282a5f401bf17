import diagnosticsChannel from 'node:diagnostics_channel';
import type { Response } from 'express';
import type { Reservation, ReservationOutcome, Tollgate } from '@tollgate/runtime';

/** Published once per request that held something, when the hold is settled or released. */
export const settlementChannelName = 'tollgate:express:settlement';
const settlementChannel = diagnosticsChannel.channel(settlementChannelName);

/** The state of one request's hold, shared by the middleware and the error handler. */
export interface PendingSettlement {
  runtime: Tollgate;
  reservation: Reservation;
  actual: number | null;
  /** Set when an error went through the chain: the hold is released whatever the status. */
  failed: boolean;
  done: boolean;
}

/**
 * Settles or releases the hold when the response ends: settle on success (and on client
 * errors when `chargeClientErrors`), release on a 5xx, an error, or a client that went
 * away before the response was finished.
 */
export function settleWhenFinished(
  res: Response,
  pending: PendingSettlement,
  chargeClientErrors: boolean,
): void {
  const statusMax = chargeClientErrors ? 500 : 400;
  res.once('finish', () => {
    const charge = !pending.failed && res.statusCode < statusMax;
    conclude(pending, charge, res.statusCode);
  });
  // 'close' follows 'finish' on a normal response; alone, it means the client left.
  res.once('close', () => conclude(pending, false, res.statusCode));
}

function conclude(pending: PendingSettlement, charge: boolean, status: number): void {
  if (pending.done) return;
  pending.done = true;
  const { runtime, reservation } = pending;
  let charged = 0;
  let outcome: ReservationOutcome;
  try {
    if (charge) {
      const settled = runtime.settle(reservation, pending.actual ?? reservation.quantity);
      charged = settled.charged;
      outcome = settled.outcome;
    } else {
      outcome = runtime.release(reservation);
    }
  } catch (error) {
    // The response is gone, so nobody can be told; observers of the channel can.
    publishSettlement({ reservation, status, charged, outcome: null, error });
    return;
  }
  publishSettlement({ reservation, status, charged, outcome, error: null });
}

function publishSettlement(message: {
  reservation: Reservation;
  status: number;
  charged: number;
  outcome: ReservationOutcome | null;
  error: unknown;
}): void {
  if (settlementChannel.hasSubscribers) settlementChannel.publish(message);
}
