import { isTollgateError, parseQuantity } from '@tollgate/core';
import type { TollgateError } from '@tollgate/core';
import type { Tollgate } from '@tollgate/runtime';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { sendDenial, setRateLimitHeaders } from './problem.js';
import type { TollgateRequestContext } from './request-context.js';
import { customerOf, idempotencyKeyOf, quantityOf } from './request-inputs.js';
import type { CustomerSource, QuantitySource } from './request-inputs.js';
import { settleWhenFinished } from './settlement.js';
import type { PendingSettlement } from './settlement.js';

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
  const customerSource = options.customer ?? 'tollgate-customer';
  const chargeClientErrors = options.chargeClientErrors ?? false;
  // The error handler finds the hold of a failed request here, to release it.
  const pendingByRequest = new WeakMap<Request, PendingSettlement>();

  function requireFeature(feature: string, featureOptions: RequireFeatureOptions = {}) {
    const quantitySource = featureOptions.quantity ?? 1;
    if (typeof quantitySource === 'number') parseQuantity(quantitySource, 'quantity');

    const middleware: RequestHandler = (req, res, next) => {
      let reserved;
      try {
        const customer = customerOf(req, customerSource);
        const quantity = quantityOf(req, quantitySource);
        const idempotencyKey = idempotencyKeyOf(req);
        reserved = {
          customer,
          ...runtime.reserve(customer, feature, quantity, { idempotencyKey }),
        };
      } catch (error) {
        if (isTollgateError(error)) sendError(res, error);
        else next(error);
        return;
      }

      const { customer, decision, reservation } = reserved;
      const nowMs = runtime.now();
      if (runtime.featureKind(feature) === 'metered') {
        setRateLimitHeaders(res, feature, decision, nowMs);
      }
      if (reservation === null) {
        sendDenial(res, decision, nowMs);
        return;
      }

      const pending: PendingSettlement = {
        runtime,
        reservation,
        actual: null,
        failed: false,
        done: false,
      };
      pendingByRequest.set(req, pending);
      req.tollgate = contextOf(pending, customer, feature, decision);
      settleWhenFinished(res, pending, chargeClientErrors);
      next();
    };
    return middleware;
  }

  function errorHandler(): ErrorRequestHandler {
    return (error, req, res, next) => {
      const pending = pendingByRequest.get(req);
      if (pending !== undefined) pending.failed = true;
      if (!isTollgateError(error) || res.headersSent) {
        next(error);
        return;
      }
      sendError(res, error);
    };
  }

  return { requireFeature, errorHandler };
}

function contextOf(
  pending: PendingSettlement,
  customer: string,
  feature: string,
  decision: TollgateRequestContext['decision'],
): TollgateRequestContext {
  return {
    customer,
    feature,
    decision,
    reservation: pending.reservation,
    runtime: pending.runtime,
    setActual(quantity: number): void {
      pending.actual = parseQuantity(quantity, 'actual');
    },
  };
}

function sendError(res: Response, error: TollgateError): void {
  res.status(error.status).json(error.toJSON());
}
