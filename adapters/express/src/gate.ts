import { isTollgateError } from '@tollgate/core';
import { HttpGate, checkedQuantity, errorAnswer } from '@tollgate/runtime';
import type {
  FeatureSource,
  HttpGateOptions,
  IdentitySource,
  QuantitySource,
  RequestReader,
  Tollgate,
} from '@tollgate/runtime';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { contextOf, guardMiddleware, sendAnswer } from './require-feature.js';
import { settlementChannelName } from './settlement.js';

/** Where the customer (or user) of a request comes from. */
export type CustomerSource = IdentitySource<Request>;
/** How much a request takes: a constant, or a function of the request. */
export type { QuantitySource, FeatureSource };

/**
 * Options of `createExpressTollgate`. A `{ claim }` customer is read from `req.auth`
 * (express-jwt) or else `req.user` (Passport): the payload your JWT middleware verified.
 */
export type ExpressTollgateOptions = HttpGateOptions<Request>;

export interface RequireFeatureOptions {
  /** Quantity held before the handler runs; 1 by default. */
  quantity?: QuantitySource<Request>;
}

/** Computes the quantity to settle once the response has finished. */
export type ActualSource = (req: Request, res: Response) => number;

/** The Express side of a Tollgate runtime. Every middleware sets `req.tollgate`. */
export interface ExpressTollgate {
  /** Holds `quantity` (default 1) of `feature` before the handler; settles after success. */
  requireFeature(feature: FeatureSource<Request>, options?: RequireFeatureOptions): RequestHandler;
  /** Holds the quantity the request names (`(req) => n`) and settles it after success. */
  meter(feature: FeatureSource<Request>, quantity: QuantitySource<Request>): RequestHandler;
  /**
   * Holds `estimate`; after success settles `actual(req, res)` (read when the response
   * finishes, e.g. from `res.locals`), or what the handler passed to
   * `req.tollgate.setActual`, or else the estimate.
   */
  reserve(
    feature: FeatureSource<Request>,
    estimate: QuantitySource<Request>,
    actual?: ActualSource,
  ): RequestHandler;
  /** Attaches `req.tollgate` to every request, for handlers that decide by themselves. */
  middleware(): RequestHandler;
  /** Error middleware: releases the request's holds; TollgateErrors get their JSON. */
  errorHandler(): ErrorRequestHandler;
}

const reader: RequestReader<Request> = {
  header: (req, name) => req.get(name),
  claims: (req) => (req as { auth?: unknown }).auth ?? (req as { user?: unknown }).user,
};

/**
 * Creates the Express integration of a runtime.
 *
 * @example
 * const gate = createExpressTollgate(tollgate, { customer: { claim: 'org_id' } });
 * app.post('/v1/chat', gate.reserve('ai_tokens', 4000), async (req, res) => {
 *   const reply = await model.complete(req.body);
 *   req.tollgate!.setActual(reply.usage.total_tokens);
 *   res.json(reply);
 * });
 * app.use(gate.errorHandler());
 */
export function createExpressTollgate(
  runtime: Tollgate,
  options: ExpressTollgateOptions = {},
): ExpressTollgate {
  const gate = new HttpGate(runtime, options, reader, settlementChannelName);
  const meter = (feature: FeatureSource<Request>, quantity: QuantitySource<Request>) => {
    const spec = { feature, quantity };
    return guardMiddleware(gate, () => spec, spec);
  };
  const reserve = (
    feature: FeatureSource<Request>,
    estimate: QuantitySource<Request>,
    actual?: ActualSource,
  ): RequestHandler => {
    const constant = { feature, quantity: estimate };
    if (actual === undefined) return guardMiddleware(gate, () => constant, constant);
    return guardMiddleware(
      gate,
      (req, res) => ({ ...constant, actual: () => checkedQuantity(actual(req, res), 'actual') }),
      constant,
    );
  };
  return {
    requireFeature: (feature, featureOptions = {}) => meter(feature, featureOptions.quantity ?? 1),
    meter,
    reserve,
    middleware: () => (req, res, next) => {
      contextOf(gate, req, res);
      next();
    },
    errorHandler: () => errorHandler(),
  };
}

/** Releases the request's holds, then answers TollgateErrors and passes others on. */
function errorHandler(): ErrorRequestHandler {
  return (error, req, res, next) => {
    req.tollgate?.fail();
    if (!isTollgateError(error) || res.headersSent) {
      next(error);
      return;
    }
    sendAnswer(res, errorAnswer(error));
  };
}
