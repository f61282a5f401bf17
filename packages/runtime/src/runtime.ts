// The runtime class: every decision path (local, lease, strict, stale and unknown-customer
// policies, seats) meets the usage journal, the reservations and the snapshot sync here,
// through private state they share, which is why the file runs past 500 lines. A worker
// thread's runtime is this class too, with a view and a usage sink of its own.
import { Reason, TollgateError, assertIdentifier, parseQuantity, reasonName } from '@tollgate/core';
import type { Decision, FeatureKindName } from '@tollgate/core';
import { SharedWasmEvaluator } from '@tollgate/evaluator';
import type { Evaluator } from '@tollgate/evaluator';
import { ControlPlaneClient } from './control-plane-client.js';
import { channelNames, publish } from './diagnostics.js';
import { loadEvaluator } from './evaluators.js';
import { RecentKeyCache } from './idempotency.js';
import { resolveOptions } from './options.js';
import type { FallbackPolicy, ResolvedOptions, TollgateOptions } from './options.js';
import { ReservationBook } from './reservations.js';
import type { HoldObserver, Reservation, ReservationOutcome } from './reservations.js';
import type {
  CheckOptions,
  ConsumeOptions,
  ReserveResult,
  SettleResult,
  Tollgate,
} from './tollgate.js';
import { SnapshotSync } from './snapshot-sync.js';
import type { SnapshotView } from './snapshot-sync.js';
import type { UsageStats } from './usage-batcher.js';
import { UsageJournal } from './usage-journal.js';
import type { UsageSink } from './usage-journal.js';
import { SharedFigures } from './threads/shared-figures.js';
import { ThreadHub } from './threads/thread-hub.js';
import type { CallMethod, TollgateShare } from './threads/protocol.js';
import { immediate, policyDecision } from './fallback.js';
import { LeaseKeeper } from './lease-keeper.js';
import { consumeShared } from './shared-decisions.js';
import { decideInLease, strictAsyncOnly, unitCostOf } from './lease-decisions.js';
import { SnapshotStream } from './snapshot-stream.js';

/**
 * Creates a runtime and loads its first snapshot before resolving.
 *
 * @example
 * const tollgate = await createTollgate({
 *   controlPlaneUrl: 'http://127.0.0.1:8080',
 *   apiKey: process.env.TOLLGATE_RUNTIME_KEY!,
 * });
 * const decision = tollgate.consume('cus_42', 'ai_tokens', 1200);
 * if (!decision.allowed) console.log(decision.reasonName, decision.remaining);
 * await tollgate.close();
 *
 * @throws TollgateError `TOLLGATE_ERR_CONTROL_PLANE` when no snapshot can be fetched,
 * `TOLLGATE_ERR_SNAPSHOT_CORRUPT` when the one fetched fails verification.
 */
export async function createTollgate(options: TollgateOptions): Promise<Tollgate> {
  const resolved = resolveOptions(options);
  assertIdentifier(resolved.runtimeId, 'runtimeId');
  const evaluator = await loadEvaluator(options.evaluator ?? 'wasm', resolved.threads);
  const runtime = new Runtime(resolved, evaluator);
  try {
    await runtime.start();
  } catch (error) {
    await runtime.close();
    throw error;
  }
  return runtime;
}

interface KeyedResult {
  decision: Decision;
  reservation: Reservation | null;
  /** What the first call asked (operation, feature, quantity): a retry must ask the same. */
  payload: string;
}

/** The payload an idempotency key stands for; the space cannot occur in a feature key. */
function payloadOf(operation: string, feature: string, quantity: number): string {
  return `${operation} ${feature} ${quantity}`;
}

/**
 * A retry that returns the first answer must ask what the first call asked: the same key
 * with another feature or quantity is a reuse, refused before anything is decided.
 */
function replayOf(seen: KeyedResult | undefined, payload: string, key: string) {
  if (seen === undefined || seen.payload === payload) return seen;
  throw new TollgateError(
    'TOLLGATE_ERR_IDEMPOTENCY_MISMATCH',
    `idempotency key ${key} was used before with another feature or quantity`,
    { field: 'idempotencyKey' },
  );
}

/** The parts of a worker thread's runtime that differ from the main thread's. */
export interface WorkerParts {
  view: SnapshotView;
  usage: UsageSink;
  holds: HoldObserver;
  /** Runs `work` under the shared evaluator's lock, having caught up with the main thread. */
  exclusive: <T>(work: () => T) => T;
  /** Has the main thread's runtime consume what this thread cannot decide alone. */
  consumeAsync: (
    customer: string,
    feature: string,
    quantity: number,
    options: ConsumeOptions,
  ) => Promise<Decision>;
}

/** What only the main thread's runtime has: the network, the lease book and the stream. */
interface MainParts {
  client: ControlPlaneClient;
  sync: SnapshotSync;
  keeper: LeaseKeeper;
  stream: SnapshotStream;
  hub: ThreadHub | null;
}

export class Runtime implements Tollgate {
  readonly runtimeId: string;
  readonly #options: ResolvedOptions;
  readonly #evaluator: Evaluator;
  readonly #usage: UsageSink;
  readonly #reservations: ReservationBook;
  readonly #view: SnapshotView;
  readonly #main: MainParts | null;
  readonly #worker: WorkerParts | null;
  readonly #keys: RecentKeyCache<KeyedResult>;
  // The caller's idempotency key of a reservation becomes the key of its usage event.
  readonly #reservationKeys = new WeakMap<Reservation, string>();
  // What a hold in lease mode took from its lease, to give back what it does not charge.
  readonly #leaseHolds = new WeakMap<Reservation, { lease: string; cost: number }>();
  readonly #timers: NodeJS.Timeout[] = [];
  #seq = 0;
  /** The snapshot version a stale entry last started a refresh for. */
  #staleVersion = -1;
  #closing: Promise<void> | null = null;

  /** A main thread's runtime, or with `worker` the runtime of a worker thread. */
  constructor(options: ResolvedOptions, evaluator: Evaluator, worker: WorkerParts | null = null) {
    this.runtimeId = options.runtimeId;
    this.#options = options;
    this.#evaluator = evaluator;
    this.#worker = worker;
    this.#reservations = new ReservationBook(
      evaluator,
      this.runtimeId,
      (reservation) => this.#releaseInLease(reservation),
      worker?.holds,
    );
    this.#keys = new RecentKeyCache(options.idempotencyKeysMax);
    if (worker !== null) {
      this.#main = null;
      this.#usage = worker.usage;
      this.#view = worker.view;
      return;
    }
    const client = new ControlPlaneClient(options.controlPlaneUrl, options.apiKey);
    const figures = new SharedFigures();
    const journal = new UsageJournal(client, options, figures, (error) =>
      this.#logBackground(error, 'usage report failed', false),
    );
    const hub = this.#hubFor(evaluator, journal, figures);
    const sync = new SnapshotSync({
      runtimeId: this.runtimeId,
      client,
      evaluator,
      carryLog: journal.carryLog,
      reservations: this.#reservations,
      clock: options.clock,
      deltas: options.deltas,
      deltasMaxCustomers: options.deltasMaxCustomers,
      figures,
      ...(hub === null ? {} : { threads: hub }),
    });
    const keeper = new LeaseKeeper(client, options.lease, options.clock, this.runtimeId);
    const stream = new SnapshotStream({
      runtimeId: this.runtimeId,
      client,
      heldVersion: () => evaluator.snapshotVersion,
      refresh: () => this.refresh(),
      confirm: () => sync.confirm(options.clock()),
      reconnectDelayMs: 250,
      silenceMs: options.streamSilenceMs,
      random: options.random,
    });
    this.#usage = journal;
    this.#view = sync;
    this.#main = { client, sync, keeper, stream, hub };
  }

  /** Worker threads can share an evaluator over shared memory that this thread owns. */
  #hubFor(evaluator: Evaluator, journal: UsageJournal, figures: SharedFigures) {
    if (!(evaluator instanceof SharedWasmEvaluator) || !evaluator.owner) return null;
    const options = this.#options;
    return new ThreadHub({
      evaluator,
      journal,
      figures,
      settings: {
        runtimeId: this.runtimeId,
        reservationTtlMs: options.reservationTtlMs,
        bufferMax: options.bufferMax,
        whenBufferFull: options.whenBufferFull,
        idempotencyKeysMax: options.idempotencyKeysMax,
        features: options.features,
        snapshotMaxAgeMs: options.snapshotMaxAgeMs,
        whenEntryStale: options.whenEntryStale,
      },
      call: (method, args) => this.#callFromWorker(method, args),
      clock: options.clock,
    });
  }

  /** A call a worker thread's runtime hands to this one. */
  #callFromWorker(method: CallMethod, args: unknown[]): Promise<unknown> {
    if (method === 'refresh') return this.refresh();
    if (method === 'flush') return this.flush();
    const [customer, feature, quantity, options] = args as Parameters<Tollgate['consumeAsync']>;
    return this.consumeAsync(customer, feature, quantity, options);
  }

  /**
   * What a worker thread passes to `attachTollgate`, to decide from this runtime's
   * snapshot in shared memory. Post it with its port transferred:
   * `new Worker(file, { workerData: share, transferList: [share.port] })`.
   *
   * @throws TollgateError `TOLLGATE_ERR_THREAD_OWNER_ONLY` unless the runtime was created
   * with `threads: true`.
   */
  share(): TollgateShare {
    const hub = this.#main?.hub;
    if (hub === null || hub === undefined) {
      throw new TollgateError(
        'TOLLGATE_ERR_THREAD_OWNER_ONLY',
        'only a runtime created with threads: true can be shared with worker threads',
        { field: 'threads' },
      );
    }
    this.#assertNotClosed();
    return hub.share();
  }

  get snapshotVersion(): number {
    return this.#evaluator.snapshotVersion;
  }

  now(): number {
    return this.#options.clock();
  }

  featureKind(feature: string): FeatureKindName | null {
    return this.#view.featureTerms(feature)?.kind ?? null;
  }

  get usageStats(): Readonly<UsageStats & { queueDepth: number }> {
    return this.#usage.stats;
  }

  async start(): Promise<void> {
    const { refreshIntervalMs, reservationTtlMs, clock } = this.#options;
    const main = this.#main;
    if (main !== null) {
      await main.sync.loadFirst();
      if (refreshIntervalMs > 0) {
        this.#every(refreshIntervalMs, () => {
          this.refresh().catch((error) =>
            this.#logBackground(error, 'snapshot refresh failed', true),
          );
        });
      }
      if (this.#options.stream) main.stream.start();
    }
    const expire = () => this.#reservations.expire(clock());
    const exclusive = this.#worker?.exclusive;
    const expiryTickMs = Math.min(reservationTtlMs, 1000);
    this.#every(expiryTickMs, exclusive === undefined ? expire : () => exclusive(expire));
  }

  nextChangeAtMs(customer: string): number {
    return this.#evaluator.nextChangeAtMs(customer);
  }

  check(customer: string, feature: string, quantity = 1, options: CheckOptions = {}): Decision {
    const nowMs = this.#options.clock();
    this.#validate(customer, quantity, 'quantity');
    const user = this.#validateUser(options.user);
    this.#reservations.expire(nowMs);
    const index = this.#evaluator.featureIndex(feature);
    return this.#withPolicy(feature, customer, nowMs, () => {
      const checked = this.#evaluator.check(customer, index, quantity, nowMs);
      return this.#seatDenial(checked, customer, feature, user) ?? checked;
    });
  }

  async consumeAsync(
    customer: string,
    feature: string,
    quantity = 1,
    options: ConsumeOptions = {},
  ): Promise<Decision> {
    const nowMs = this.#options.clock();
    const key = this.#validate(customer, quantity, 'quantity', options.idempotencyKey);
    const user = this.#validateUser(options.user);
    const index = this.#evaluator.featureIndex(feature);
    const denied = this.#seatCheck(customer, feature, index, user, nowMs);
    if (denied !== null) return denied;
    this.#refreshWhenStale(customer, nowMs);
    const policy = this.#options.features[feature];
    const whenStale = this.#stalePolicy(feature, customer, nowMs);
    const local = (policy?.mode ?? 'local') === 'local';
    if (local && whenStale === null && !this.#asksWhenUnknown(feature)) {
      return this.consume(customer, feature, quantity, options);
    }
    // A worker thread has no network and no lease book: the main thread decides.
    if (this.#worker !== null)
      return this.#worker.consumeAsync(customer, feature, quantity, options);
    this.#assertOpen();
    const main = this.#main!;
    const payload = payloadOf('consume', feature, quantity);
    const seen =
      key === undefined ? undefined : replayOf(this.#keys.get(customer, key), payload, key);
    if (seen !== undefined) return seen.decision;
    this.#seq += 1;
    const eventKey = key ?? `${this.runtimeId}:${this.#seq}`;
    const decision = await consumeShared(
      {
        evaluator: this.#evaluator,
        client: main.client,
        keeper: main.keeper,
        terms: this.#view.featureTerms(feature),
        policy,
        whenStale,
        record: (units, lease) =>
          this.#recordUsage(customer, feature, units, nowMs, eventKey, lease),
      },
      customer,
      feature,
      quantity,
      nowMs,
      eventKey,
    );
    if (key !== undefined) this.#keys.set(customer, key, { decision, reservation: null, payload });
    return decision;
  }

  consume(customer: string, feature: string, quantity = 1, options: ConsumeOptions = {}): Decision {
    const nowMs = this.#options.clock();
    const key = this.#validate(customer, quantity, 'quantity', options.idempotencyKey);
    const user = this.#validateUser(options.user);
    const payload = payloadOf('consume', feature, quantity);
    const seen =
      key === undefined ? undefined : replayOf(this.#keys.get(customer, key), payload, key);
    if (seen !== undefined) return seen.decision;

    const mode = this.#modeOf(feature);
    if (mode === 'strict') throw strictAsyncOnly(feature);
    this.#assertOpen();
    this.#reservations.expire(nowMs);
    const index = this.#evaluator.featureIndex(feature);
    let lease: string | undefined;
    const decision = this.#withPolicy(feature, customer, nowMs, (stale) => {
      // The seat is checked before anything is recorded: a denied user consumes nothing.
      const denied = this.#seatCheck(customer, feature, index, user, nowMs);
      if (denied !== null) return denied;
      const consume = () => this.#evaluator.consume(customer, index, quantity, nowMs);
      // A stale snapshot whose policy allows decides locally, as consumeAsync does.
      if (mode !== 'lease' || stale) return consume();
      const leased = decideInLease(
        this.#leaseParts(feature),
        customer,
        feature,
        quantity,
        nowMs,
        consume,
      );
      lease = leased.lease ?? undefined;
      return leased.decision;
    });
    // Config, boolean and seats features report nothing; metered and credits do. A use
    // allowed by the unknown-customer policy is not reported: the control plane has no
    // such customer, and the batch would be refused whole.
    if (decision.allowed && decision.cost > 0 && this.#reportsUsage(feature)) {
      this.#recordUsage(customer, feature, quantity, nowMs, key, lease);
    }
    if (key !== undefined) this.#keys.set(customer, key, { decision, reservation: null, payload });
    return decision;
  }

  reserve(
    customer: string,
    feature: string,
    estimate: number,
    options: ConsumeOptions = {},
  ): ReserveResult {
    const nowMs = this.#options.clock();
    const key = this.#validate(customer, estimate, 'estimate', options.idempotencyKey);
    const user = this.#validateUser(options.user);
    const payload = payloadOf('reserve', feature, estimate);
    const seen =
      key === undefined ? undefined : replayOf(this.#keys.get(customer, key), payload, key);
    if (seen !== undefined) return { decision: seen.decision, reservation: seen.reservation };

    if (this.#modeOf(feature) === 'strict') throw strictAsyncOnly(feature);
    this.#assertOpen();
    this.#reservations.expire(nowMs);
    const result = this.#reserveWithPolicy(customer, feature, estimate, user, nowMs);
    if (result.reservation !== null && key !== undefined) {
      this.#reservationKeys.set(result.reservation, key);
    }
    if (key !== undefined) this.#keys.set(customer, key, { ...result, payload });
    return result;
  }

  settle(reservation: Reservation, actual: number): SettleResult {
    const nowMs = this.#options.clock();
    parseQuantity(actual, 'actual');
    this.#reservations.expire(nowMs);
    const inLease = this.#settleInLease(reservation, actual, nowMs);
    let settled;
    try {
      settled = this.#reservations.settle(reservation, inLease.actual, nowMs);
    } catch (error) {
      inLease.finish(0);
      throw error;
    }
    const { charged: cost, outcome, reservedAtMs, byPolicy } = settled;
    inLease.finish(cost);
    const charged = this.#unitsOf(reservation.feature, cost, inLease.actual);
    // Only a settle that charged can fall short; a repeated call changed nothing, and a
    // reservation a policy allowed was never measured against anything.
    const shortfall = outcome === 'settled' && !byPolicy ? actual - charged : 0;
    const { customer, feature } = reservation;
    if (charged > 0) {
      const key = this.#reservationKeys.get(reservation);
      // Stamped at the reserve instant: that decision's period is the one charged.
      this.#recordUsage(customer, feature, charged, reservedAtMs, key, inLease.lease);
    }
    if (shortfall > 0) {
      const { id } = reservation;
      publish(channelNames.settleShortfall, {
        runtimeId: this.runtimeId,
        id,
        customer,
        feature,
        actual,
        charged,
        shortfall,
      });
    }
    return { charged, cost, outcome, shortfall };
  }

  release(reservation: Reservation): ReservationOutcome {
    const nowMs = this.#options.clock();
    this.#reservations.expire(nowMs);
    const outcome = this.#reservations.release(reservation, nowMs);
    if (outcome === 'released') this.#releaseInLease(reservation);
    return outcome;
  }

  /** Holds of this (worker) thread that the main thread could not place after a swap. */
  loseHolds(ids: readonly string[]): void {
    for (const id of ids) this.#reservations.lose(id);
  }

  refresh(): Promise<boolean> {
    // Not #assertOpen: a refresh records no usage, so a full buffer must not stop it.
    this.#assertNotClosed();
    return this.#view.refresh();
  }

  flush(): Promise<void> {
    // Workers' uses posted so far may still wait in their ports: they are delivered too.
    this.#main?.hub?.drain();
    return this.#usage.flush();
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #shutDown(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    const main = this.#main;
    await main?.stream.stop();
    await this.#view.settled();
    // Workers record nothing more once the flag is up; what they posted is journalled.
    main?.hub?.stop();
    try {
      await this.#usage.close();
      // Leases go back only once every use under them was delivered.
      await main?.keeper.returnAll();
    } finally {
      main?.hub?.close();
      await main?.client.close();
    }
  }

  #reportsUsage(feature: string): boolean {
    const kind = this.#view.featureTerms(feature)?.kind;
    return kind === 'metered' || kind === 'credits';
  }

  /**
   * Converts what the evaluator charged into the feature's unit. A credits charge capped
   * by a hard limit can cover part of a unit; that unit is reported whole, because the
   * control plane caps its debit at the balance the same way and records the shortfall.
   */
  #unitsOf(feature: string, cost: number, actual: number): number {
    const terms = this.#view.featureTerms(feature);
    if (terms?.kind !== 'credits') return cost;
    if (terms.costPerUnit === 0) return 0;
    return Math.min(actual, Math.ceil(cost / terms.costPerUnit));
  }

  /** Stamps a usage event once, queues it, and journals it for a refresh in progress. */
  #recordUsage(
    customer: string,
    feature: string,
    quantity: number,
    timeMs: number,
    idempotencyKey: string | undefined,
    lease?: string,
  ): void {
    this.#seq += 1;
    const key = idempotencyKey ?? `${this.runtimeId}:${this.#seq}`;
    const event = { key, customer, feature, quantity, time: timeMs };
    this.#usage.record(lease === undefined ? event : { ...event, lease });
  }

  /**
   * Stale: not confirmed current for the feature's maximum age. An open stream confirms
   * with each heartbeat at the version held; a connection alone confirms nothing.
   */
  #isStale(feature: string, nowMs: number): boolean {
    const maxAgeMs = this.#options.features[feature]?.maxAgeMs ?? this.#options.snapshotMaxAgeMs;
    return nowMs - this.#view.confirmedAtMs > maxAgeMs;
  }

  /**
   * True from the customer's next change on (a trial or override end, a reset, a grant
   * expiry): the entry's values may no longer hold, and stay in doubt until a snapshot
   * built after that instant arrives.
   */
  #isEntryStale(customer: string, nowMs: number): boolean {
    if (nowMs < this.#view.earliestChangeAtMs) return false;
    const changeAtMs = this.#evaluator.nextChangeAtMs(customer);
    return changeAtMs !== 0 && nowMs >= changeAtMs;
  }

  /**
   * The policy a decision falls under because the snapshot or the customer's entry is
   * stale, or null when its answer stands. A stale entry uses the feature's `whenStale`,
   * or `whenEntryStale` when the feature declares none, so a trial ends on time even when
   * no refresh can reach the control plane.
   */
  #stalePolicy(feature: string, customer: string, nowMs: number): FallbackPolicy | null {
    const whenStale = this.#options.features[feature]?.whenStale;
    if (whenStale !== undefined && this.#isStale(feature, nowMs)) return whenStale;
    if (!this.#isEntryStale(customer, nowMs)) return null;
    return whenStale ?? this.#options.whenEntryStale;
  }

  #asksWhenUnknown(feature: string): boolean {
    const policy = this.#options.features[feature]?.whenUnknownCustomer;
    return policy !== undefined && typeof policy !== 'string';
  }

  /**
   * `no_seat` when `user` holds no seat of the customer and the feature requires one;
   * null otherwise. Unknown customers and features and a lack of access come first (the
   * order of `Reason`), so `checked`, a decision recording nothing, keeps those.
   */
  #seatDenial(
    checked: Decision,
    customer: string,
    feature: string,
    user: string | null | undefined,
  ): Decision | null {
    if (this.#view.featureTerms(feature)?.requiresSeat !== true) return null;
    const earlier = [Reason.UnknownCustomer, Reason.UnknownFeature, Reason.NoAccess];
    if (earlier.includes(checked.reason)) return null;
    // No user holds no seat: a seat feature asked without one fails closed.
    if (user !== null && user !== undefined && this.#evaluator.holdsSeat(customer, user)) {
      return null;
    }
    return {
      ...checked,
      allowed: false,
      reason: Reason.NoSeat,
      reasonName: reasonName(Reason.NoSeat),
      cost: 0,
    };
  }

  /**
   * From a customer's next change on (a trial or override end, a reset), its entry may
   * be out of date: start one refresh per snapshot version, without waiting for it. The
   * decision is made from the snapshot held; the one after the refresh sees the change.
   */
  #refreshWhenStale(customer: string, nowMs: number): void {
    if (nowMs < this.#view.earliestChangeAtMs) return;
    const changeAtMs = this.#evaluator.nextChangeAtMs(customer);
    const version = this.#evaluator.snapshotVersion;
    if (changeAtMs === 0 || nowMs < changeAtMs || this.#staleVersion === version) return;
    this.#staleVersion = version;
    publish(channelNames.entryStale, { runtimeId: this.runtimeId, customer, changeAtMs, version });
    if (this.#closing !== null) return;
    this.refresh().catch((error) => this.#logBackground(error, 'snapshot refresh failed', true));
  }

  #validateUser(user: string | null | undefined): string | null | undefined {
    return user === undefined || user === null ? user : assertIdentifier(user, 'user');
  }

  /**
   * `no_seat` before anything is recorded, for a feature that requires a seat; null
   * otherwise (then without a second evaluator call).
   */
  #seatCheck(
    customer: string,
    feature: string,
    index: number,
    user: string | null | undefined,
    nowMs: number,
  ): Decision | null {
    if (this.#view.featureTerms(feature)?.requiresSeat !== true) return null;
    const checked = this.#evaluator.check(customer, index, 0, nowMs);
    return this.#seatDenial(checked, customer, feature, user);
  }

  /** Applies the feature's stale and unknown-customer policies around a local decision. */
  #withPolicy(
    feature: string,
    customer: string,
    nowMs: number,
    decide: (stale: boolean) => Decision,
  ): Decision {
    this.#refreshWhenStale(customer, nowMs);
    const whenStale = this.#stalePolicy(feature, customer, nowMs);
    if (whenStale !== null && immediate(whenStale) === 'deny') {
      return this.#staleDecision(customer, feature, nowMs);
    }
    const decision = decide(whenStale !== null);
    if (decision.reason !== Reason.UnknownCustomer) return decision;
    return this.#unknownAllowed(feature) ? this.#policyAllowed() : decision;
  }

  /**
   * `stale_snapshot`, carrying the customer's figures from the snapshot held (which may
   * be out of date: that is why it denies).
   */
  #staleDecision(customer: string, feature: string, nowMs: number): Decision {
    const index = this.#evaluator.featureIndex(feature);
    const checked = this.#evaluator.check(customer, index, 0, nowMs);
    return policyDecision(false, Reason.StaleSnapshot, checked.snapshotVersion, checked);
  }

  #modeOf(feature: string): 'local' | 'lease' | 'strict' {
    return this.#options.features[feature]?.mode ?? 'local';
  }

  #leaseParts(feature: string) {
    const terms = this.#view.featureTerms(feature);
    return { evaluator: this.#evaluator, keeper: this.#leases(), terms };
  }

  #unknownAllowed(feature: string): boolean {
    return immediate(this.#options.features[feature]?.whenUnknownCustomer ?? 'deny') === 'allow';
  }

  #policyAllowed(): Decision {
    return policyDecision(true, Reason.UnknownCustomer, this.#evaluator.snapshotVersion);
  }

  /**
   * `reserve` under the same policies and modes as `consume`: a stale snapshot or entry
   * whose policy denies holds nothing; an unknown customer allowed by policy gets a
   * reservation that holds and charges nothing, as its consume would report nothing; in
   * lease mode the estimate is taken from the lease slice too.
   */
  #reserveWithPolicy(
    customer: string,
    feature: string,
    estimate: number,
    user: string | null | undefined,
    nowMs: number,
  ): ReserveResult {
    this.#refreshWhenStale(customer, nowMs);
    const whenStale = this.#stalePolicy(feature, customer, nowMs);
    if (whenStale !== null && immediate(whenStale) === 'deny') {
      return { decision: this.#staleDecision(customer, feature, nowMs), reservation: null };
    }
    const index = this.#evaluator.featureIndex(feature);
    const denied = this.#seatCheck(customer, feature, index, user, nowMs);
    if (denied !== null) return { decision: denied, reservation: null };
    const expiresAtMs = nowMs + this.#options.reservationTtlMs;
    const hold = () => this.#reservations.hold(customer, feature, estimate, nowMs, expiresAtMs);
    const result =
      this.#modeOf(feature) === 'lease' && whenStale === null
        ? this.#holdInLease(customer, feature, estimate, nowMs, hold)
        : hold();
    if (result.decision.reason !== Reason.UnknownCustomer || !this.#unknownAllowed(feature)) {
      return result;
    }
    const reservation = this.#reservations.holdByPolicy(
      customer,
      feature,
      estimate,
      nowMs,
      expiresAtMs,
    );
    return { decision: this.#policyAllowed(), reservation };
  }

  /** Takes the estimate's cost from the lease slice, then holds it in the evaluator. */
  #holdInLease(
    customer: string,
    feature: string,
    estimate: number,
    nowMs: number,
    hold: () => ReserveResult,
  ): ReserveResult {
    let result: ReserveResult | null = null;
    const place = (): Decision => {
      result = hold();
      return result.decision;
    };
    const parts = this.#leaseParts(feature);
    const leased = decideInLease(parts, customer, feature, estimate, nowMs, place);
    const placed = result as ReserveResult | null;
    if (leased.lease === null || placed?.reservation == null) {
      return { decision: leased.decision, reservation: null };
    }
    this.#leaseHolds.set(placed.reservation, { lease: leased.lease, cost: leased.cost });
    return placed;
  }

  /**
   * The lease part of a settle: what the actual use may be charged (the hold's cost plus
   * what the slice still covers beyond it), and a function that gives back to the lease
   * what the settle did not charge.
   */
  #settleInLease(reservation: Reservation, actual: number, nowMs: number) {
    const held = this.#leaseHolds.get(reservation);
    if (held === undefined) return { actual, finish: (_cost: number) => undefined };
    this.#leaseHolds.delete(reservation);
    const { customer, feature } = reservation;
    const unitCost = unitCostOf(this.#view.featureTerms(feature));
    const wantedCost = actual * unitCost;
    const extra =
      wantedCost > held.cost
        ? this.#leases().spendUpTo(customer, feature, wantedCost - held.cost, nowMs)
        : 0;
    const coverable = held.cost + extra;
    const capped = unitCost === 0 ? actual : Math.min(actual, Math.floor(coverable / unitCost));
    const finish = (cost: number): void => {
      this.#leases().giveBack(customer, feature, held.lease, coverable - cost);
    };
    return { actual: capped, finish, lease: held.lease };
  }

  /** A hold that ended without a settle gives its whole cost back to the lease. */
  #releaseInLease(reservation: Reservation): void {
    const held = this.#leaseHolds.get(reservation);
    if (held === undefined) return;
    this.#leaseHolds.delete(reservation);
    this.#leases().giveBack(reservation.customer, reservation.feature, held.lease, held.cost);
  }

  /** Validates the arguments every recording call shares; returns the idempotency key. */
  #validate(
    customer: string,
    quantity: number,
    quantityField: string,
    idempotencyKey?: string,
  ): string | undefined {
    assertIdentifier(customer, 'customer');
    parseQuantity(quantity, quantityField);
    if (idempotencyKey === undefined) return undefined;
    return assertIdentifier(idempotencyKey, 'idempotencyKey');
  }

  /**
   * Refuses everything once the runtime is closing, and applies `whenBufferFull` once the
   * queue of unacknowledged usage is full (see `UsageSink.makeRoom`).
   */
  #assertOpen(): void {
    this.#assertNotClosed();
    this.#usage.makeRoom();
  }

  #assertNotClosed(): void {
    if (this.#closing !== null) {
      throw new TollgateError('TOLLGATE_ERR_NOT_STARTED', 'the runtime is closed');
    }
  }

  /**
   * The lease book, which only the main thread's runtime keeps: a worker thread decides
   * lease features with `consumeAsync`, which the main thread runs.
   */
  #leases(): LeaseKeeper {
    if (this.#main !== null) return this.#main.keeper;
    throw new TollgateError(
      'TOLLGATE_ERR_THREAD_OWNER_ONLY',
      'lease mode is decided by the main thread; in a worker thread use consumeAsync',
      { field: 'feature' },
    );
  }

  #every(intervalMs: number, tick: () => void): void {
    const timer = setInterval(tick, intervalMs);
    // Background upkeep must never keep the process alive on its own.
    timer.unref();
    this.#timers.push(timer);
  }

  #logBackground(error: unknown, message: string, refreshing: boolean): void {
    const channel = refreshing ? channelNames.refreshFailed : channelNames.usageFailed;
    publish(channel, { runtimeId: this.runtimeId, error, message });
    this.#options.logger?.warn({ err: error, runtimeId: this.runtimeId }, message);
  }
}
