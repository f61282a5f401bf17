import type { Decision } from '@tollgate/core';
import type { Reservation, Tollgate } from '@tollgate/runtime';

/**
 * What `requireFeature` attaches to `req.tollgate` once the hold is placed: the decision,
 * the reservation, and the runtime for further checks inside the handler.
 */
export interface TollgateRequestContext {
  readonly customer: string;
  readonly feature: string;
  readonly decision: Decision;
  readonly reservation: Reservation;
  readonly runtime: Tollgate;
  /**
   * Settles a different quantity than the one held, e.g. the tokens a model really
   * used. Throws `InvalidQuantityError` for anything but an integer from 0 to 2^53 − 1.
   */
  setActual(quantity: number): void;
}

declare global {
  // Express declares its request type in this global namespace, so augmenting it there
  // is the only way `req.tollgate` type-checks in every handler.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      tollgate?: TollgateRequestContext;
    }
  }
}
