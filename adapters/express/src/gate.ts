import { isTollgateError } from '@tollgate/core';
import type { Tollgate } from '@tollgate/runtime';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { CustomerSource, QuantitySource } from './request-inputs.js';
import { requireFeatureMiddleware, sendError } from './require-feature.js';
import type { GateSettings } from './require-feature.js';

export interface ExpressTollgateOptions {
  /** A header name (default `tollgate-customer`) or a function of the request. */
  customer?: CustomerSource;
  /** Settle holds of 4xx responses as well; by default only responses below 400 pay. */
  chargeClientErrors?: boolean;
}

export interface RequireFeatureOptions {
  /** Quantity held before the handler runs; 1 by default. */
  quantity?: QuantitySource;
}

/** The Express side of a Tollgate runtime. */
export interface ExpressTollgate {
  /**
   * Middleware that reserves `quantity` of `feature` for the request's customer before
   * the handler runs, answers a denial itself, and settles or releases after.
   */
  requireFeature(feature: string, options?: RequireFeatureOptions): RequestHandler;
  /** Error middleware: TollgateErrors become their status and JSON; others pass on. */
  errorHandler(): ErrorRequestHandler;
}

/**
 * Creates the Express integration of a runtime.
 *
 * @example
 * const gate = createExpressTollgate(tollgate, { customer: 'x-customer-id' });
 * app.post(
 *   '/v1/chat',
 *   gate.requireFeature('ai_tokens', { quantity: (req) => parseQuantity(req.body.maxTokens) }),
 *   async (req, res) => {
 *     const reply = await model.complete(req.body);
 *     req.tollgate!.setActual(reply.usage.totalTokens);
 *     res.json(reply);
 *   },
 * );
 * app.use(gate.errorHandler());
 */
export function createExpressTollgate(
  runtime: Tollgate,
  options: ExpressTollgateOptions = {},
): ExpressTollgate {
  const settings: GateSettings = {
    runtime,
    customerSource: options.customer ?? 'tollgate-customer',
    chargeClientErrors: options.chargeClientErrors ?? false,
    pendingByRequest: new WeakMap(),
  };
  return {
    requireFeature: (feature, featureOptions = {}) =>
      requireFeatureMiddleware(settings, feature, featureOptions.quantity ?? 1),
    errorHandler: () => errorHandler(settings),
  };
}

/** Marks the request's hold for release, then answers TollgateErrors and passes others on. */
function errorHandler(settings: GateSettings): ErrorRequestHandler {
  return (error, req, res, next) => {
    const pending = settings.pendingByRequest.get(req);
    if (pending !== undefined) pending.failed = true;
    if (!isTollgateError(error) || res.headersSent) {
      next(error);
      return;
    }
    sendError(res, error);
  };
}
