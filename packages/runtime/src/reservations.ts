import type { Decision } from '@tollgate/core';
import { TollgateError } from '@tollgate/core';
import type { Evaluator } from '@tollgate/evaluator';
import { channelNames, publish } from './diagnostics.js';

/**
 * A hold placed by `reserve`. Opaque: pass it back to `settle` or `release` as it is.
 * The runtime keeps its state; the object itself never changes.
 */
export interface Reservation {
  readonly id: string;
  readonly customer: string;
  readonly feature: string;
  /** The quantity held, in the feature's unit. */
  readonly quantity: number;
  /** After this instant the hold is released by itself. */
  readonly expiresAtMs: number;
}

/**
 * How a settle or release ended. Only `settled` and `released` changed anything; the
 * others report why a repeated or late call was a no-op.
 */
export type ReservationOutcome =
  'settled' | 'released' | 'already_settled' | 'already_released' | 'expired';

type HoldState = 'live' | 'settled' | 'released' | 'expired';

interface HoldRecord {
  /** The book that placed the hold; another runtime's reservation is refused. */
  book: ReservationBook;
  customer: string;
  feature: string;
  /** Set right after the record, by the reservation that carries it. */
  reservation: Reservation;
  /** What the evaluator holds now: 0 after a refresh could not place the hold again. */
  heldQuantity: number;
  state: HoldState;
  /** Where the record sits in the book's array of live holds; -1 once it has left. */
  liveIndex: number;
  /** The reserve instant: its usage event is stamped with it, so it decides the period. */
  reservedAtMs: number;
  /** Placed by a policy, not the evaluator: it charges nothing and falls short of nothing. */
  byPolicy: boolean;
}

/**
 * The object `reserve` hands out. Its record rides in a private field rather than in a
 * WeakMap keyed by the object: a WeakMap entry per request cost more than the decision
 * itself (ephemeron bookkeeping in every garbage collection).
 */
class HeldReservation implements Reservation {
  readonly #record: HoldRecord;
  readonly id: string;
  readonly customer: string;
  readonly feature: string;
  readonly quantity: number;
  readonly expiresAtMs: number;

  constructor(record: HoldRecord, id: string, expiresAtMs: number) {
    this.#record = record;
    this.id = id;
    this.customer = record.customer;
    this.feature = record.feature;
    this.quantity = record.heldQuantity;
    this.expiresAtMs = expiresAtMs;
    Object.freeze(this);
  }

  /** The record of a reservation this module created, or undefined for any other object. */
  static recordOf(reservation: Reservation): HoldRecord | undefined {
    return #record in reservation ? (reservation as HeldReservation).#record : undefined;
  }
}

/** Hears of holds placed in the evaluator and of reservations that ended. */
export interface HoldObserver {
  placed(reservation: Reservation): void;
  ended(reservation: Reservation): void;
}

/**
 * The live holds of one runtime. It places, settles and releases them in the evaluator,
 * releases expired ones, and places every live hold again after a snapshot is loaded
 * (a snapshot carries no holds, because they are local to this process).
 */
export class ReservationBook {
  readonly #evaluator: Evaluator;
  readonly #runtimeId: string;
  // An array with swap-removal rather than a Map by id or a Set: a hold costs no hashing.
  readonly #live: HoldRecord[] = [];
  #nextExpiryMs = Number.POSITIVE_INFINITY;
  #seq = 0;

  readonly #onExpired: (reservation: Reservation) => void;
  readonly #observer: HoldObserver | undefined;

  /**
   * `onExpired` hears of each hold released by its TTL; `observer`, of every hold placed
   * in the evaluator and of every reservation that ended.
   */
  constructor(
    evaluator: Evaluator,
    runtimeId: string,
    onExpired: (reservation: Reservation) => void = () => undefined,
    observer?: HoldObserver,
  ) {
    this.#evaluator = evaluator;
    this.#runtimeId = runtimeId;
    this.#onExpired = onExpired;
    this.#observer = observer;
  }

  get liveCount(): number {
    return this.#live.length;
  }

  /** Decides as consume would and, when allowed, holds `quantity` until `expiresAtMs`. */
  hold(
    customer: string,
    feature: string,
    quantity: number,
    nowMs: number,
    expiresAtMs: number,
  ): { decision: Decision; reservation: Reservation | null } {
    const index = this.#evaluator.featureIndex(feature);
    const decision = this.#evaluator.hold(customer, index, quantity, nowMs);
    if (!decision.allowed) return { decision, reservation: null };
    const reservation = this.#place(customer, feature, quantity, nowMs, expiresAtMs);
    this.#observer?.placed(reservation);
    return { decision, reservation };
  }

  /**
   * A reservation a policy allowed (an unknown customer under `whenUnknownCustomer:
   * 'allow'`): it holds nothing in the evaluator, and its settle charges nothing.
   */
  holdByPolicy(
    customer: string,
    feature: string,
    quantity: number,
    nowMs: number,
    expiresAtMs: number,
  ): Reservation {
    const reservation = this.#place(customer, feature, quantity, nowMs, expiresAtMs);
    const record = HeldReservation.recordOf(reservation)!;
    record.heldQuantity = 0;
    record.byPolicy = true;
    return reservation;
  }

  #place(
    customer: string,
    feature: string,
    quantity: number,
    nowMs: number,
    expiresAtMs: number,
  ): Reservation {
    this.#seq += 1;
    const id = `${this.#runtimeId}:r${this.#seq}`;
    const record: HoldRecord = {
      book: this,
      customer,
      feature,
      reservation: null!,
      heldQuantity: quantity,
      state: 'live',
      liveIndex: this.#live.length,
      reservedAtMs: nowMs,
      byPolicy: false,
    };
    const reservation = new HeldReservation(record, id, expiresAtMs);
    record.reservation = reservation;
    this.#live.push(record);
    this.#nextExpiryMs = Math.min(this.#nextExpiryMs, expiresAtMs);
    return reservation;
  }

  /**
   * Turns the hold into a consumption of `actual` and returns the quantity charged. An
   * expired reservation is refused with a coded error and changes nothing: its hold was
   * released at expiry, and the caller must know the action went unpaid.
   */
  settle(
    reservation: Reservation,
    actual: number,
    nowMs: number,
  ): { charged: number; outcome: ReservationOutcome; reservedAtMs: number; byPolicy: boolean } {
    const record = this.#recordOf(reservation);
    const { reservedAtMs, byPolicy } = record;
    if (record.state === 'settled' || record.state === 'released') {
      return {
        reservedAtMs,
        byPolicy,
        charged: 0,
        outcome: record.state === 'settled' ? 'already_settled' : 'already_released',
      };
    }
    if (record.state === 'expired') {
      const expiredAt = new Date(reservation.expiresAtMs).toISOString();
      throw new TollgateError(
        'TOLLGATE_ERR_RESERVATION_EXPIRED',
        `reservation: ${reservation.id} expired at ${expiredAt}`,
        { field: 'reservation' },
      );
    }
    const index = this.#evaluator.featureIndex(reservation.feature);
    const charged =
      index < 0
        ? 0
        : this.#evaluator.settle(reservation.customer, index, record.heldQuantity, actual, nowMs);
    this.#finish(record, 'settled');
    return { charged, outcome: 'settled', reservedAtMs, byPolicy };
  }

  /** Gives the held quantity back. */
  release(reservation: Reservation, nowMs: number): ReservationOutcome {
    const record = this.#recordOf(reservation);
    if (record.state === 'settled') return 'already_settled';
    if (record.state === 'released') return 'already_released';
    if (record.state === 'expired') {
      // The caller gave up on it: a settle after this must not charge the late action.
      record.state = 'released';
      return 'expired';
    }
    this.#releaseHeld(record, nowMs);
    this.#finish(record, 'released');
    return 'released';
  }

  /** Releases every hold whose expiry has passed. One comparison when none has. */
  expire(nowMs: number): void {
    if (nowMs < this.#nextExpiryMs) return;
    let nextExpiryMs = Number.POSITIVE_INFINITY;
    for (const record of [...this.#live]) {
      const { expiresAtMs, id } = record.reservation;
      if (expiresAtMs > nowMs) {
        nextExpiryMs = Math.min(nextExpiryMs, expiresAtMs);
        continue;
      }
      this.#releaseHeld(record, nowMs);
      this.#finish(record, 'expired');
      this.#onExpired(record.reservation);
      publish(channelNames.reservationExpired, { runtimeId: this.#runtimeId, id, expiresAtMs });
    }
    this.#nextExpiryMs = nextExpiryMs;
  }

  /**
   * Places every live hold again in a freshly loaded snapshot. A hold the new snapshot
   * cannot cover (the balance shrank, the feature went away) is kept as a reservation
   * holding nothing, so its settle still charges what is available.
   */
  placeAgain(nowMs: number): void {
    for (const record of this.#live) {
      const { customer, feature, quantity, id } = record.reservation;
      const index = this.#evaluator.featureIndex(feature);
      const placed =
        index >= 0 && this.#evaluator.hold(customer, index, quantity, nowMs).allowed === true;
      record.heldQuantity = placed ? quantity : 0;
      if (!placed && quantity > 0) {
        publish(channelNames.holdLost, { runtimeId: this.#runtimeId, id, customer, feature });
      }
    }
  }

  #releaseHeld(record: HoldRecord, nowMs: number): void {
    const { customer, feature } = record.reservation;
    const index = this.#evaluator.featureIndex(feature);
    if (index >= 0 && record.heldQuantity > 0) {
      this.#evaluator.release(customer, index, record.heldQuantity, nowMs);
    }
  }

  /**
   * Notes that the hold of reservation `id` was not placed again in a newly loaded
   * snapshot (by the thread that loaded it): it holds nothing from now on.
   */
  lose(id: string): void {
    const record = this.#live.find((live) => live.reservation.id === id);
    if (record === undefined) return;
    record.heldQuantity = 0;
    const { customer, feature } = record.reservation;
    publish(channelNames.holdLost, { runtimeId: this.#runtimeId, id, customer, feature });
  }

  #finish(record: HoldRecord, state: HoldState): void {
    if (record.liveIndex >= 0) this.#observer?.ended(record.reservation);
    record.state = state;
    record.heldQuantity = 0;
    if (record.liveIndex < 0) return;
    // Swap the last live record into this one's place, then drop the last slot.
    const last = this.#live.pop()!;
    if (last !== record) {
      this.#live[record.liveIndex] = last;
      last.liveIndex = record.liveIndex;
    }
    record.liveIndex = -1;
  }

  #recordOf(reservation: Reservation): HoldRecord {
    const record = HeldReservation.recordOf(reservation);
    if (record === undefined || record.book !== this) {
      throw new TollgateError(
        'TOLLGATE_ERR_RESERVATION_NOT_FOUND',
        'reservation: not a reservation of this runtime',
        { field: 'reservation' },
      );
    }
    return record;
  }
}
