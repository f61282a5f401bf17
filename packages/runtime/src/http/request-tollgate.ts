import diagnosticsChannel from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import { isTollgateError, parseQuantity } from '@tollgate/core';
import type { Decision } from '@tollgate/core';
import type { Reservation, ReservationOutcome } from '../reservations.js';
import type { SettleResult, Tollgate } from '../tollgate.js';

/** What one request's `RequestTollgate` needs from the adapter that created it. */
export interface RequestTollgateOptions {
  runtime: Tollgate;
  /** Settle holds of 4xx responses as well; by default only responses below 400 pay. */
  chargeClientErrors: boolean;
  /** The diagnostics channel each settlement is published on. */
  channelName: string;
  /** Reads the customer; throws the coded 401 or 400. Called once, when first needed. */
  customer: () => string;
  /** Reads the user, for seats; undefined when the gate has no user source. */
  user: () => string | undefined;
}

/** Options of `RequestTollgate.reserve`. */
export interface RequestReserveOptions {
  idempotencyKey?: string;
  /** Computes the quantity to settle when the response ends, unless one was reported. */
  actual?: () => number;
}

/** Published once per hold when it is settled or released. */
export interface SettlementMessage {
  customer: string;
  feature: string;
  reservation: Reservation;
  /**
   * The response status; 0 when the hold was concluded before the response finished
   * (the client left, or the handler called `settle`).
   */
  status: number;
  charged: number;
  outcome: ReservationOutcome | null;
  error: unknown;
}

interface Hold {
  feature: string;
  reservation: Reservation;
  actual: number | null;
  actualFunction: (() => number) | null;
  done: boolean;
}

/**
 * The runtime as one request sees it: bound to the request's customer, remembering the
 * last decision, and owning the holds placed for the request. Adapters attach it as
 * `req.tollgate` (Express), `ctx.state.tollgate` (Koa) or `@TollgateContext()` (Nest).
 *
 * Holds are concluded when the response ends: settled after a status below 400 (below
 * 500 with `chargeClientErrors`), released after a 5xx, a failure reported by the
 * adapter, or a client that left before the response finished — which is how a streamed
 * response pays only once its last byte is written.
 *
 * @example
 * app.post('/v1/chat', gate.reserve('ai_tokens', 4000), async (req, res) => {
 *   const reply = await model.complete(req.body);
 *   req.tollgate!.setActual(reply.usage.total_tokens);
 *   res.json(reply);
 * });
 */
export class RequestTollgate {
  readonly runtime: Tollgate;
  readonly #options: RequestTollgateOptions;
  readonly #holds: Hold[] = [];
  #customer: string | undefined;
  #decision: Decision | null = null;
  #failed = false;
  #ended = false;

  constructor(options: RequestTollgateOptions) {
    this.runtime = options.runtime;
    this.#options = options;
  }

  /** The request's customer. Throws `TOLLGATE_ERR_MISSING_CUSTOMER` (401) when absent. */
  get customer(): string {
    this.#customer ??= this.#options.customer();
    return this.#customer;
  }

  /** The request's user, when the gate reads one (for seats). */
  get user(): string | undefined {
    return this.#options.user();
  }

  /** The last decision made for this request, by a guard or by the handler. */
  get decision(): Decision | null {
    return this.#decision;
  }

  /** The most recent hold's reservation, or null when nothing is held. */
  get reservation(): Reservation | null {
    return this.#holds.at(-1)?.reservation ?? null;
  }

  /** The feature of the most recent hold, or null when nothing is held. */
  get feature(): string | null {
    return this.#holds.at(-1)?.feature ?? null;
  }

  /**
   * Decides whether `quantity` could be used now, recording nothing. Here and in
   * `consume` and `reserve`, the request's user (when the gate reads one) is checked for a
   * seat: a feature that requires one is denied with `no_seat` to a user who holds none.
   */
  check(feature: string, quantity = 1): Decision {
    this.#decision = this.runtime.check(this.customer, feature, quantity, {
      user: this.#seatUser(),
    });
    return this.#decision;
  }

  /** Decides and, when allowed, records the use at once; it is not undone on failure. */
  consume(feature: string, quantity = 1, options: { idempotencyKey?: string } = {}): Decision {
    const { idempotencyKey } = options;
    this.#decision = this.runtime.consume(this.customer, feature, quantity, {
      idempotencyKey,
      user: this.#seatUser(),
    });
    return this.#decision;
  }

  /**
   * Holds `estimate` when allowed; the hold is settled or released with the response.
   * Read the returned decision: a denied one holds nothing.
   */
  reserve(feature: string, estimate: number, options: RequestReserveOptions = {}): Decision {
    const { idempotencyKey, actual } = options;
    const held = this.runtime.reserve(this.customer, feature, estimate, {
      idempotencyKey,
      user: this.#seatUser(),
    });
    this.#decision = held.decision;
    if (held.reservation !== null) {
      const hold: Hold = {
        feature,
        reservation: held.reservation,
        actual: null,
        actualFunction: actual ?? null,
        done: false,
      };
      this.#holds.push(hold);
      // A hold placed after the response ended has no end to wait for.
      if (this.#ended) this.#conclude(hold, true, 0);
    }
    return held.decision;
  }

  /**
   * Reports the quantity really used (the tokens a model returned), settled instead of
   * the estimate. Applies to the hold of `feature`, or to the most recent hold. Throws
   * `InvalidQuantityError` for anything but an integer from 0 to 2^53 − 1.
   */
  setActual(quantity: number, feature?: string): void {
    const actual = parseQuantity(quantity, 'actual');
    const hold = this.#find(feature);
    if (hold !== undefined) hold.actual = actual;
  }

  /**
   * Settles the most recent live hold now, instead of when the response ends, and
   * publishes it on the settlement channel with status 0, as the response has not ended.
   */
  settle(actual?: number): SettleResult | null {
    const hold = this.#holds.findLast((candidate) => !candidate.done);
    if (hold === undefined) return null;
    if (actual !== undefined) hold.actual = parseQuantity(actual, 'actual');
    hold.done = true;
    const settled = this.runtime.settle(hold.reservation, hold.actual ?? hold.reservation.quantity);
    const { charged, outcome } = settled;
    this.#publish({ hold, status: 0, charged, outcome, error: null });
    return settled;
  }

  /** Releases every live hold now; nothing is charged for them. */
  release(): void {
    for (const hold of this.#holds) this.#conclude(hold, false, 0);
  }

  /** Marks the request failed: its holds are released whatever the status turns out. */
  fail(): void {
    this.#failed = true;
  }

  /** Concludes every live hold for a response that ended with `status`. */
  finish(status: number): void {
    if (this.#ended) return;
    this.#ended = true;
    const statusMax = this.#options.chargeClientErrors ? 500 : 400;
    const charge = !this.#failed && status < statusMax;
    for (const hold of this.#holds) this.#conclude(hold, charge, status);
  }

  /** Releases every live hold: the client left before the response finished. */
  abandon(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const hold of this.#holds) this.#conclude(hold, false, 0);
  }

  /**
   * Concludes the holds when the Node response ends. Every adapter's framework writes
   * to a `ServerResponse`, so this is where streamed responses are settled too.
   */
  watch(response: ServerResponse): void {
    // One plain listener, not `once('finish')` and `once('close')`: adding, wrapping and
    // deleting two listeners cost more per request than the decision. Node emits 'close'
    // on every response, after 'finish' when it was written whole; otherwise the client
    // left before the response finished.
    response.on('close', () => {
      if (response.writableFinished) this.finish(response.statusCode);
      else this.abandon();
    });
  }

  /**
   * The user whose seat decisions check: undefined when the gate reads no user (seats are
   * not checked), null when it reads one but the request names none (a feature that
   * requires a seat is then denied). A malformed user is still a coded 400.
   */
  #seatUser(): string | null | undefined {
    try {
      return this.#options.user();
    } catch (error) {
      if (isTollgateError(error) && error.code === 'TOLLGATE_ERR_MISSING_CUSTOMER') return null;
      throw error;
    }
  }

  #find(feature: string | undefined): Hold | undefined {
    if (feature === undefined) return this.#holds.at(-1);
    return this.#holds.findLast((hold) => hold.feature === feature);
  }

  #conclude(hold: Hold, charge: boolean, status: number): void {
    if (hold.done) return;
    hold.done = true;
    let charged = 0;
    let outcome: ReservationOutcome | null = null;
    let error: unknown = null;
    try {
      if (charge) {
        const settled = this.runtime.settle(hold.reservation, this.#actualOf(hold));
        charged = settled.charged;
        outcome = settled.outcome;
      } else {
        outcome = this.runtime.release(hold.reservation);
      }
    } catch (caught) {
      // The response is gone, so nobody can be told; observers of the channel can. A
      // failed settle leaves the hold to expire, so nothing is charged for it.
      error = caught;
      outcome = this.#releaseQuietly(hold.reservation);
    }
    this.#publish({ hold, status, charged, outcome, error });
  }

  #actualOf(hold: Hold): number {
    if (hold.actual !== null) return hold.actual;
    if (hold.actualFunction === null) return hold.reservation.quantity;
    return hold.actualFunction();
  }

  #releaseQuietly(reservation: Reservation): ReservationOutcome | null {
    try {
      return this.runtime.release(reservation);
    } catch {
      return null;
    }
  }

  #publish(message: {
    hold: Hold;
    status: number;
    charged: number;
    outcome: ReservationOutcome | null;
    error: unknown;
  }): void {
    const channel = channelOf(this.#options.channelName);
    if (!channel.hasSubscribers) return;
    const { hold, status, charged, outcome, error } = message;
    const settlement: SettlementMessage = {
      customer: hold.reservation.customer,
      feature: hold.feature,
      reservation: hold.reservation,
      status,
      charged,
      outcome,
      error,
    };
    channel.publish(settlement);
  }
}

const channels = new Map<string, diagnosticsChannel.Channel>();

/** The channel of a name, looked up once per name rather than once per settled hold. */
function channelOf(name: string): diagnosticsChannel.Channel {
  let channel = channels.get(name);
  if (channel === undefined) {
    channel = diagnosticsChannel.channel(name);
    channels.set(name, channel);
  }
  return channel;
}
