import { isTollgateError, parseQuantity } from '@tollgate/core';
import type { Decision, TollgateError } from '@tollgate/core';
import type { Reservation, Tollgate } from '@tollgate/runtime';
import type { Request, RequestHandler, Response } from 'express';
import { sendDenial, setRateLimitHeaders } from './problem.js';
import type { TollgateRequestContext } from './request-context.js';
import { customerOf, idempotencyKeyOf, quantityOf } from './request-inputs.js';
import type { CustomerSource, QuantitySource } from './request-inputs.js';
import { settleWhenFinished } from './settlement.js';
import type { PendingSettlement } from './settlement.js';

/** What every `requireFeature` middleware of one gate shares. */
export interface GateSettings {
  runtime: Tollgate;
  customerSource: CustomerSource;
  chargeClientErrors: boolean;
  /** The error handler finds the hold of a failed request here, to release it. */
  pendingByRequest: WeakMap<Request, PendingSettlement>;
}

interface Reserved {
  customer: string;
  decision: Decision;
  reservation: Reservation | null;
}

/**
 * Builds the middleware: reserve before the handler, answer a denial, settle or release
 * when the response ends. A static quantity is checked once, here, not per request.
 */
export function requireFeatureMiddleware(
  settings: GateSettings,
  feature: string,
  quantitySource: QuantitySource,
): RequestHandler {
  if (typeof quantitySource === 'number') parseQuantity(quantitySource, 'quantity');
  const { runtime } = settings;

  return (req, res, next) => {
    let reserved: Reserved;
    try {
      reserved = reserve(settings, req, feature, quantitySource);
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
    settings.pendingByRequest.set(req, pending);
    req.tollgate = contextOf(pending, customer, feature, decision);
    settleWhenFinished(res, pending, settings.chargeClientErrors);
    next();
  };
}

/** Reads the request's inputs and places the hold; throws coded errors for bad input. */
function reserve(
  settings: GateSettings,
  req: Request,
  feature: string,
  quantitySource: QuantitySource,
): Reserved {
  const customer = customerOf(req, settings.customerSource);
  const quantity = quantityOf(req, quantitySource);
  const idempotencyKey = idempotencyKeyOf(req);
  const held = settings.runtime.reserve(customer, feature, quantity, { idempotencyKey });
  return { customer, ...held };
}

function contextOf(
  pending: PendingSettlement,
  customer: string,
  feature: string,
  decision: Decision,
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

export function sendError(res: Response, error: TollgateError): void {
  res.status(error.status).json(error.toJSON());
}
