import { MessagePort } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import { TollgateError, assertIdentifier, validationError } from '@tollgate/core';
import type { Clock, Decision } from '@tollgate/core';
import { attachWasmEvaluator } from '@tollgate/evaluator';
import type { SharedWasmEvaluator } from '@tollgate/evaluator';
import { channelNames, publish } from '../diagnostics.js';
import type { TollgateLogger } from '../diagnostics.js';
import { resolveOptions } from '../options.js';
import type { HoldObserver, Reservation } from '../reservations.js';
import { Runtime } from '../runtime.js';
import { termsOf } from '../snapshot-sync.js';
import type { FeatureTerms, SnapshotView } from '../snapshot-sync.js';
import type { Tollgate } from '../tollgate.js';
import { bufferFull } from '../usage-journal.js';
import type { UsageSink } from '../usage-journal.js';
import type { UsageEvent } from '../control-plane-client.js';
import { MainLink, mainClosed } from './main-link.js';
import type { TollgateShare, WorkerSettings } from './protocol.js';
import { SharedFigures } from './shared-figures.js';
import { WorkerTollgate } from './worker-tollgate.js';

/** Options a worker thread's runtime takes itself; the rest come from the main thread. */
export interface AttachOptions {
  /** The source of decision instants; `systemClock` by default. */
  clock?: Clock;
  /**
   * Names this thread's runtime in diagnostics and its generated usage keys: a UUID is
   * appended (`<runtimeId>.<uuid>`), so two threads never share keys. A UUID by default.
   */
  runtimeId?: string;
  logger?: TollgateLogger;
}

/**
 * Attaches a worker thread to the main thread's runtime (created with `threads: true`):
 * the same snapshot and the same accounting in shared memory, so a use or hold made in
 * any thread counts against every other at once. Decisions stay synchronous and local;
 * uses are reported through the main thread's usage queue, and what needs the network
 * (`consumeAsync` of lease and strict features, `refresh`, `flush`) runs there.
 *
 * @example
 * ```ts
 * // worker.js, started with { workerData: share, transferList: [share.port] }
 * const tollgate = await attachTollgate(workerData);
 * const decision = tollgate.consume('cus_42', 'api_calls');
 * ```
 *
 * @throws TollgateError `TOLLGATE_ERR_THREAD_ATTACH` (naming the member) for anything but
 * a share from `tollgate.share()`, a port already used, or when every slot is taken.
 */
export async function attachTollgate(
  share: TollgateShare,
  options: AttachOptions = {},
): Promise<Tollgate> {
  const checked = checkShare(share);
  if (options.clock !== undefined && typeof options.clock !== 'function') {
    throw validationError('clock', 'expected a function returning epoch milliseconds');
  }
  // Every option is checked before a slot is claimed, so bad input changes nothing.
  const resolved = workerOptions(checked.settings, options);
  assertIdentifier(resolved.runtimeId, 'runtimeId');
  portsUsed.add(checked.port);
  const evaluator = await attachWasmEvaluator(checked.evaluator);
  const figures = new SharedFigures(checked.figures);
  let runtime: Runtime | null = null;
  const link = new MainLink(checked.port, (ids) => runtime?.loseHolds(ids));
  let seenGeneration = -1;
  const exclusive = <T>(work: () => T): T =>
    evaluator.exclusive(() => {
      // A swap may have lost holds of this thread: learn which before deciding.
      if (evaluator.generation !== seenGeneration) {
        seenGeneration = evaluator.generation;
        link.drain();
      }
      return work();
    });
  runtime = new Runtime(resolved, evaluator, {
    view: new WorkerView(evaluator, figures, link),
    usage: new WorkerSink(evaluator, figures, link, resolved),
    holds: holdsPostedTo(link),
    exclusive,
    consumeAsync: (customer, feature, quantity, consumeOptions) =>
      link.call('consumeAsync', [customer, feature, quantity, consumeOptions]) as Promise<Decision>,
  });
  await runtime.start();
  link.post({ type: 'hello', slot: evaluator.slot });
  try {
    await link.welcomed(WELCOME_TIMEOUT_MS);
  } catch (cause) {
    // A port closed before it came, or not a runtime's: nothing this thread uses would
    // reach the main thread.
    link.close();
    await runtime.close().catch(() => undefined);
    throw attachError('port', cause);
  }
  return new WorkerTollgate(runtime, exclusive);
}

/** How long a worker waits for the main thread to answer its hello. */
const WELCOME_TIMEOUT_MS = 2000;

/** Ports attached in this thread: a share is for one runtime. */
const portsUsed = new WeakSet<MessagePort>();

/**
 * The main thread's settings with this thread's own clock, logger and id (a new UUID by
 * default: the main thread's would repeat its usage keys). A worker makes no call of its
 * own to the control plane, so the URL and the key below go unused.
 */
function workerOptions(settings: WorkerSettings, options: AttachOptions) {
  const { runtimeId: _mainThreadId, ...shared } = settings;
  return resolveOptions({
    ...shared,
    controlPlaneUrl: 'tollgate:main-thread',
    apiKey: 'main-thread',
    refreshIntervalMs: 0,
    stream: false,
    // Usage keys are `<runtimeId>:<seq>`: a UUID keeps every thread's apart, even when
    // two workers are given one name.
    runtimeId:
      options.runtimeId === undefined ? randomUUID() : `${options.runtimeId}.${randomUUID()}`,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
}

function checkShare(share: TollgateShare): TollgateShare {
  const candidate = share as Partial<TollgateShare> | null | undefined;
  if (!(candidate?.port instanceof MessagePort) || portsUsed.has(candidate.port)) {
    throw attachError('port');
  }
  if (!SharedFigures.fits(candidate.figures)) throw attachError('figures');
  if (typeof candidate.settings !== 'object' || candidate.settings === null) {
    throw attachError('settings');
  }
  if (candidate.evaluator === undefined) throw attachError('evaluator');
  return candidate as TollgateShare;
}

function attachError(field: string, cause?: unknown): TollgateError {
  return new TollgateError(
    'TOLLGATE_ERR_THREAD_ATTACH',
    `cannot attach: ${field} is not what one tollgate.share() gives, unused`,
    { field, ...(cause === undefined ? {} : { cause }) },
  );
}

/** Tells the main thread of every hold placed and ended, for it to carry them over. */
function holdsPostedTo(link: MainLink): HoldObserver {
  return {
    placed: ({ id, customer, feature, quantity }: Reservation) =>
      link.post({ type: 'hold', id, customer, feature, quantity }),
    ended: ({ id }: Reservation) => link.post({ type: 'unhold', id }),
  };
}

/** The snapshot as a worker sees it: the shared evaluator's, with the main thread's figures. */
class WorkerView implements SnapshotView {
  readonly #evaluator: SharedWasmEvaluator;
  readonly #figures: SharedFigures;
  readonly #link: MainLink;
  #terms = new Map<string, FeatureTerms>();
  #termsGeneration = -1;

  constructor(evaluator: SharedWasmEvaluator, figures: SharedFigures, link: MainLink) {
    this.#evaluator = evaluator;
    this.#figures = figures;
    this.#link = link;
  }

  featureTerms(feature: string): FeatureTerms | null {
    const evaluator = this.#evaluator;
    return evaluator.exclusive(() => {
      if (evaluator.generation !== this.#termsGeneration) {
        this.#terms = termsOf(evaluator.features);
        this.#termsGeneration = evaluator.generation;
      }
      return this.#terms.get(feature) ?? null;
    });
  }

  get confirmedAtMs(): number {
    return this.#figures.confirmedAtMs;
  }

  get earliestChangeAtMs(): number {
    return this.#figures.earliestChangeAtMs;
  }

  /** The main thread refreshes; this thread follows once it swaps. */
  async refresh(): Promise<boolean> {
    return (await this.#link.call('refresh', [])) as boolean;
  }

  async settled(): Promise<void> {}
}

/** Usage posted to the main thread's journal, under the lock of the call that made it. */
class WorkerSink implements UsageSink {
  readonly #evaluator: SharedWasmEvaluator;
  readonly #figures: SharedFigures;
  readonly #link: MainLink;
  readonly #settings: { bufferMax: number; whenBufferFull: string; runtimeId: string };

  constructor(
    evaluator: SharedWasmEvaluator,
    figures: SharedFigures,
    link: MainLink,
    settings: { bufferMax: number; whenBufferFull: string; runtimeId: string },
  ) {
    this.#evaluator = evaluator;
    this.#figures = figures;
    this.#link = link;
    this.#settings = settings;
  }

  record(event: UsageEvent): void {
    this.#link.post({ type: 'use', event });
  }

  /** Refuses under `refuse` when the main thread's queue is full; it evicts otherwise. */
  makeRoom(): void {
    if (this.#figures.closed || this.#link.closed) throw mainClosed();
    const { bufferMax, whenBufferFull: policy, runtimeId } = this.#settings;
    const queued = this.#figures.queueDepth;
    if (policy !== 'refuse' || queued < bufferMax) return;
    this.#link.post({ type: 'refused' });
    publish(channelNames.bufferFull, { runtimeId, queued, bufferMax, policy });
    throw bufferFull(queued);
  }

  get stats() {
    return this.#figures.usageStats();
  }

  async flush(): Promise<void> {
    await this.#link.call('flush', []);
  }

  /** Delivers what this thread reported, then gives its slot and holds back. */
  async close(): Promise<void> {
    try {
      if (!this.#link.closed) await this.flush();
    } finally {
      this.#link.post({ type: 'bye' });
      this.#link.close();
      this.#evaluator.detach();
    }
  }
}
