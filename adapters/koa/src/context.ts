import type { RequestTollgate } from '@tollgate/runtime';

/**
 * What `ctx.state.tollgate` holds: the runtime bound to the request's customer, the last
 * decision (`ctx.state.tollgate.decision`), and the request's holds, settled or released
 * with the response.
 */
export type TollgateState = RequestTollgate;

declare module 'koa' {
  // Koa types `ctx.state` through this interface, so augmenting it is what makes
  // `ctx.state.tollgate` type-check in every middleware.
  interface DefaultState {
    tollgate?: TollgateState;
  }
}
