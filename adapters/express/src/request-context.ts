import type { RequestTollgate } from '@tollgate/runtime';

/**
 * What `req.tollgate` holds: the runtime bound to the request's customer, the last
 * decision, and the request's holds (settled or released with the response).
 */
export type TollgateRequestContext = RequestTollgate;

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
