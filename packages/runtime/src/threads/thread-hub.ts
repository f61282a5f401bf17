import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { SharedWasmEvaluator } from '@tollgate/evaluator';
import { channelNames, publish } from '../diagnostics.js';
import type { UsageJournal } from '../usage-journal.js';
import { carryError } from './protocol.js';
import type { CallMethod, TollgateShare, ToMain, ToWorker, WorkerSettings } from './protocol.js';
import type { SharedFigures } from './shared-figures.js';

export interface ThreadHubParts {
  evaluator: SharedWasmEvaluator;
  journal: UsageJournal;
  figures: SharedFigures;
  settings: WorkerSettings;
  /** Runs a call a worker cannot make itself (it needs the network or the lease book). */
  call: (method: CallMethod, args: unknown[]) => Promise<unknown>;
  clock: () => number;
}

interface MirroredHold {
  customer: string;
  feature: string;
  quantity: number;
}

/** The main thread's end of one worker's channel, and the holds that worker placed. */
interface Link {
  port: MessagePort;
  slot: number;
  holds: Map<string, MirroredHold>;
  /** Set when this side closed the port: reading a closed port crashes Node 20. */
  closed: boolean;
}

/**
 * The main thread's side of worker threads: hands out `TollgateShare`s, queues the uses
 * workers report in the one usage journal, mirrors their holds, and at every snapshot
 * swap places those holds again, as the runtime does its own. A worker that ends gives
 * its holds and its evaluator slot back.
 */
export class ThreadHub {
  readonly #parts: ThreadHubParts;
  readonly #links = new Set<Link>();

  constructor(parts: ThreadHubParts) {
    this.#parts = parts;
  }

  get workers(): number {
    return this.#links.size;
  }

  /** A share for one new worker; `port` must be transferred with it. */
  share(): TollgateShare {
    const channel = new MessageChannel();
    const link: Link = { port: channel.port1, slot: -1, holds: new Map(), closed: false };
    this.#links.add(link);
    link.port.on('message', (message: ToMain) => this.#receive(link, message));
    link.port.on('close', () => this.#end(link));
    // A link with no worker yet must not keep the process alive.
    link.port.unref();
    const { evaluator, figures, settings } = this.#parts;
    return {
      evaluator: evaluator.share(),
      figures: figures.buffer,
      port: channel.port2,
      settings,
    };
  }

  /**
   * Takes every message workers have posted so far, synchronously. Called under the
   * evaluator's lock before a swap: every use and hold recorded in the old snapshot's
   * accounting is then journalled or mirrored, and carried over.
   */
  drain(): void {
    for (const link of this.#links) this.#drainLink(link);
  }

  #drainLink(link: Link): void {
    if (link.closed) return;
    for (;;) {
      const received = receiveMessageOnPort(link.port);
      if (received === undefined) return;
      this.#receive(link, received.message as ToMain);
    }
  }

  /**
   * Places every worker's live hold again in a freshly loaded snapshot and tells each
   * worker which of its holds the new snapshot could not cover.
   */
  placeAgain(nowMs: number): void {
    const evaluator = this.#parts.evaluator;
    for (const link of this.#links) {
      const lost: string[] = [];
      for (const [id, hold] of link.holds) {
        const index = evaluator.featureIndex(hold.feature);
        const placed =
          index >= 0 && evaluator.hold(hold.customer, index, hold.quantity, nowMs).allowed;
        if (placed || hold.quantity === 0) continue;
        link.holds.delete(id);
        lost.push(id);
      }
      if (lost.length > 0) this.#post(link, { type: 'lost', ids: lost });
    }
  }

  /**
   * Raises the closed flag under the lock, so that workers record nothing more, and
   * journals what they posted before it.
   */
  stop(): void {
    const { evaluator, figures } = this.#parts;
    evaluator.exclusive(() => {
      figures.closed = true;
      this.drain();
    });
  }

  /** Closes every channel; workers' later calls fail. */
  close(): void {
    for (const link of [...this.#links]) this.#closeLink(link);
  }

  #closeLink(link: Link): void {
    link.closed = true;
    link.port.close();
  }

  #receive(link: Link, message: ToMain): void {
    switch (message.type) {
      case 'use':
        this.#parts.journal.accept(message.event);
        return;
      case 'hold': {
        const { id, customer, feature, quantity } = message;
        link.holds.set(id, { customer, feature, quantity });
        return;
      }
      case 'unhold':
        link.holds.delete(message.id);
        return;
      case 'refused':
        this.#parts.journal.countRefused();
        return;
      case 'hello':
        link.slot = message.slot;
        // The worker is up: its channel now keeps the process alive as the worker does.
        link.port.ref();
        this.#post(link, { type: 'welcome' });
        return;
      case 'call':
        this.#answer(link, message.id, message.method, message.args);
        return;
      case 'bye':
        // The worker gave its slot back itself, and another may hold it already.
        link.slot = -1;
        this.#closeLink(link);
        return;
    }
  }

  #answer(link: Link, id: number, method: CallMethod, args: unknown[]): void {
    this.#parts.call(method, args).then(
      (value) => this.#post(link, { type: 'reply', id, value }),
      (error: unknown) => this.#post(link, { type: 'failed', id, error: carryError(error) }),
    );
  }

  #post(link: Link, message: ToWorker): void {
    if (this.#links.has(link)) link.port.postMessage(message);
  }

  /**
   * A worker closed its runtime or ended: its holds are released, its slot (and the lock,
   * if it ended inside a call) given back. Uses it reported stay queued.
   */
  #end(link: Link): void {
    // Node delivers a port's queued messages before its 'close' event, and reading the
    // port from the event itself crashes Node 20: nothing is left to drain here.
    link.closed = true;
    if (!this.#links.delete(link)) return;
    const { evaluator, clock } = this.#parts;
    if (link.slot > 0) evaluator.reclaimSlot(link.slot);
    const nowMs = clock();
    evaluator.exclusive(() => {
      for (const hold of link.holds.values()) {
        const index = evaluator.featureIndex(hold.feature);
        if (index >= 0) evaluator.release(hold.customer, index, hold.quantity, nowMs);
      }
    });
    const { runtimeId } = this.#parts.settings;
    publish(channelNames.workerEnded, {
      runtimeId,
      slot: link.slot,
      holdsReleased: link.holds.size,
    });
  }
}
