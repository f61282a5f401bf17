import { HttpGate, checkedQuantity } from '@tollgate/runtime';
import type {
  FeatureSource,
  HttpGateOptions,
  IdentitySource,
  QuantitySource,
  RequestReader,
  Tollgate,
} from '@tollgate/runtime';
import type { Context, Middleware } from 'koa';
import { contextMiddleware, guardMiddleware } from './guard.middleware.js';

/** The diagnostics channel each settled or released hold is published on. */
export const settlementChannelName = 'tollgate:koa:settlement';

/** Where the customer (or user) of a request comes from. */
export type CustomerSource = IdentitySource<Context>;

/**
 * Options of `createKoaTollgate`. A `{ claim }` customer is read from `ctx.state.user`,
 * where koa-jwt puts the payload it verified.
 */
export type KoaTollgateOptions = HttpGateOptions<Context>;

/** Computes the quantity to settle once the response has finished. */
export type ActualSource = (ctx: Context) => number;

/** The Koa side of a Tollgate runtime. Every middleware sets `ctx.state.tollgate`. */
export interface KoaTollgate {
  /** Holds `quantity` (default 1) of `feature` before downstream; settles after success. */
  requireFeature(
    feature: FeatureSource<Context>,
    options?: { quantity?: QuantitySource<Context> },
  ): Middleware;
  /** Holds the quantity the request names (`(ctx) => n`) and settles it after success. */
  meter(feature: FeatureSource<Context>, quantity: QuantitySource<Context>): Middleware;
  /**
   * Holds `estimate`; after success settles `actual(ctx)` (read when the response has
   * finished), or what downstream passed to `ctx.state.tollgate.setActual`, or else the
   * estimate.
   */
  reserve(
    feature: FeatureSource<Context>,
    estimate: QuantitySource<Context>,
    actual?: ActualSource,
  ): Middleware;
  /** Attaches `ctx.state.tollgate` to every request, for handlers that decide themselves. */
  middleware(): Middleware;
}

const reader: RequestReader<Context> = {
  header: (ctx, name) => ctx.get(name) || undefined,
  claims: (ctx) => (ctx.state as { user?: unknown }).user,
};

/**
 * Creates the Koa integration of a runtime.
 *
 * @example
 * const gate = createKoaTollgate(tollgate, { customer: 'x-customer-id' });
 * router.post('/v1/chat', gate.reserve('ai_tokens', 4000), async (ctx) => {
 *   const reply = await model.complete(ctx.request.body);
 *   ctx.state.tollgate!.setActual(reply.usage.total_tokens);
 *   ctx.body = reply;
 * });
 */
export function createKoaTollgate(
  runtime: Tollgate,
  options: KoaTollgateOptions = {},
): KoaTollgate {
  const gate = new HttpGate(runtime, options, reader, settlementChannelName);
  const meter = (feature: FeatureSource<Context>, quantity: QuantitySource<Context>) => {
    const spec = { feature, quantity };
    return guardMiddleware(gate, () => spec, spec);
  };
  const reserve = (
    feature: FeatureSource<Context>,
    estimate: QuantitySource<Context>,
    actual?: ActualSource,
  ): Middleware => {
    const constant = { feature, quantity: estimate };
    if (actual === undefined) return guardMiddleware(gate, () => constant, constant);
    return guardMiddleware(
      gate,
      (ctx) => ({ ...constant, actual: () => checkedQuantity(actual(ctx), 'actual') }),
      constant,
    );
  };
  return {
    requireFeature: (feature, featureOptions = {}) => meter(feature, featureOptions.quantity ?? 1),
    meter,
    reserve,
    middleware: () => contextMiddleware(gate),
  };
}
