import type { IncomingHttpHeaders } from 'node:http';
import type { ModuleMetadata } from '@nestjs/common';
import type { FeatureSource, HttpGateOptions, QuantitySource, Tollgate } from '@tollgate/runtime';

/**
 * The request as route decorators' functions see it: headers, the route's parameters, the
 * body Nest parsed, and the verified JWT payload that Passport-style guards put on
 * `request.user`. Express and Fastify requests both fit. `Body` types the body the way
 * `@Body() body: Body` does in the handler: `@Meter<ImageRequest>('image.generate',
 * (request) => request.body.count)`.
 */
export interface NestHttpRequest<Body = unknown> {
  headers: IncomingHttpHeaders;
  params: Record<string, string | undefined>;
  body: Body;
  user?: unknown;
}

/**
 * Options of `TollgateModule.forRoot`: the runtime, and where the customer comes from (the
 * `tollgate-customer` header by default; `{ claim: 'sub' }` reads `request.user.sub`).
 */
export interface TollgateModuleOptions extends HttpGateOptions<NestHttpRequest> {
  runtime: Tollgate;
  /**
   * Install `TollgateGuard` for every route (default true). Global guards run before
   * route guards, so when the customer is a claim set by a route's auth guard, pass false
   * and list it after that guard: `@UseGuards(AuthGuard('jwt'), TollgateGuard)`; then
   * only routes that list it are gated. Listing it under the global guard admits once.
   */
  globalGuard?: boolean;
}

/** Options of `TollgateModule.forRootAsync`, for a runtime created asynchronously. */
export interface TollgateModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** As `TollgateModuleOptions.globalGuard`; it must be known before the factory runs. */
  globalGuard?: boolean;
  // Nest's own async options type their injection tokens and factory arguments this
  // loosely, so a typed factory of any arity can be passed.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  useFactory: (...args: any[]) => TollgateModuleOptions | Promise<TollgateModuleOptions>;
  inject?: Array<string | symbol | (abstract new (...args: never[]) => unknown) | Function>;
}

/** Computes the quantity to settle from what the handler returned (its last value). */
export type ActualFromResult<Result = unknown, Body = unknown> = (
  result: Result,
  request: NestHttpRequest<Body>,
) => number;

/** What `@RequireFeature`, `@Meter` and `@Reserve` store on a handler or controller. */
export interface RouteGuardSpec {
  decorator: 'RequireFeature' | 'Meter' | 'Reserve';
  feature: FeatureSource<NestHttpRequest>;
  quantity: QuantitySource<NestHttpRequest>;
  actual: ActualFromResult | null;
}
