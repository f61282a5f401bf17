import { isTollgateError, parseQuantity } from '@tollgate/core';
import type { Tollgate } from '../tollgate.js';
import { denialAnswer, errorAnswer, rateLimitHeaders } from './problem.js';
import type { DenialBody, HttpAnswer } from './problem.js';
import { featureOf, idempotencyKeyOf, identityOf, quantityOf } from './request-inputs.js';
import type {
  FeatureSource,
  IdentitySource,
  QuantitySource,
  RequestReader,
} from './request-inputs.js';
import { RequestTollgate } from './request-tollgate.js';

/** The options every adapter's factory accepts. */
export interface HttpGateOptions<Request> {
  /** Where the customer comes from; the `tollgate-customer` header by default. */
  customer?: IdentitySource<Request>;
  /** Where the user comes from, for seats; none by default. */
  user?: IdentitySource<Request>;
  /** Settle holds of 4xx responses as well; by default only responses below 400 pay. */
  chargeClientErrors?: boolean;
  /** Extends the problem document of denials (see `DenialBody`). */
  denialBody?: DenialBody;
}

/** What a route guard holds: a feature and a quantity, both possibly read from the request. */
export interface GuardSpec<Request> {
  feature: FeatureSource<Request>;
  quantity: QuantitySource<Request>;
  /** Computes the quantity to settle at the response's end (bound by the adapter). */
  actual?: (() => number) | undefined;
}

/** The outcome of a guard: headers to set in any case, and an answer when it denied. */
export interface Admission {
  headers: Record<string, string>;
  /** A denial or coded error to send instead of running the handler; null to go on. */
  answer: HttpAnswer | null;
}

/**
 * The framework-neutral core of the Express, Koa and NestJS adapters: reads the customer,
 * feature and quantity of a request through the adapter's `RequestReader`, places the
 * hold, and says what to answer. Each adapter only copies headers and answers onto its
 * framework's response and wires `RequestTollgate.watch` to the Node response.
 *
 * @example
 * const gate = new HttpGate(runtime, { customer: { claim: 'sub' } }, reader, 'my:channel');
 * const tollgate = gate.context(request);
 * const { headers, answer } = gate.admit(tollgate, request, { feature: 'api_calls', quantity: 1 });
 */
export class HttpGate<Request> {
  readonly runtime: Tollgate;
  readonly #options: Required<Pick<HttpGateOptions<Request>, 'customer' | 'chargeClientErrors'>> &
    HttpGateOptions<Request>;
  readonly #reader: RequestReader<Request>;
  readonly #channelName: string;

  constructor(
    runtime: Tollgate,
    options: HttpGateOptions<Request>,
    reader: RequestReader<Request>,
    channelName: string,
  ) {
    this.runtime = runtime;
    this.#options = {
      ...options,
      customer: options.customer ?? 'tollgate-customer',
      chargeClientErrors: options.chargeClientErrors ?? false,
    };
    this.#reader = reader;
    this.#channelName = channelName;
  }

  /** A fresh per-request context; the customer is read when first needed. */
  context(request: Request): RequestTollgate {
    const { customer, user, chargeClientErrors } = this.#options;
    return new RequestTollgate({
      runtime: this.runtime,
      chargeClientErrors,
      channelName: this.#channelName,
      customer: () => identityOf(request, customer, this.#reader, 'customer'),
      user: () =>
        user === undefined ? undefined : identityOf(request, user, this.#reader, 'user'),
    });
  }

  /**
   * Checks a guard's constant quantity once, when the route is declared, so a typo fails
   * at startup rather than on the first request.
   */
  static checkSpec<Request>(spec: GuardSpec<Request>): void {
    if (typeof spec.quantity === 'number') parseQuantity(spec.quantity, 'quantity');
  }

  /**
   * Places the guard's hold for the request. Coded errors (no customer, a quantity
   * function that misbehaved) become answers; anything else is thrown to the framework.
   */
  admit(tollgate: RequestTollgate, request: Request, spec: GuardSpec<Request>): Admission {
    try {
      const feature = featureOf(request, spec.feature);
      const quantity = quantityOf(request, spec.quantity);
      const idempotencyKey = idempotencyKeyOf(request, this.#reader);
      const decision = tollgate.reserve(feature, quantity, { idempotencyKey, actual: spec.actual });
      const nowMs = this.runtime.now();
      const kind = this.runtime.featureKind(feature);
      const headers = rateLimitHeaders(feature, kind, decision, nowMs);
      if (decision.allowed) return { headers, answer: null };
      return { headers, answer: denialAnswer(decision, nowMs, this.#options.denialBody) };
    } catch (error) {
      if (!isTollgateError(error)) throw error;
      return { headers: {}, answer: errorAnswer(error) };
    }
  }
}
