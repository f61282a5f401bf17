import { receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { TollgateError } from '@tollgate/core';
import { rebuildError } from './protocol.js';
import type { CallMethod, ToMain, ToWorker } from './protocol.js';

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * A worker thread's end of its channel to the main thread's runtime: posts uses and
 * holds, makes calls and awaits their answers, and hears which holds a swap lost. The
 * port keeps the worker alive only while a call waits.
 */
export class MainLink {
  readonly #port: MessagePort;
  readonly #calls = new Map<number, PendingCall>();
  readonly #onLost: (ids: readonly string[]) => void;
  #nextId = 0;
  #closed = false;
  #onWelcome: (() => void) | null = null;

  constructor(port: MessagePort, onLost: (ids: readonly string[]) => void) {
    this.#port = port;
    this.#onLost = onLost;
    port.on('message', (message: ToWorker) => this.#receive(message));
    port.on('close', () => this.#hangUp());
    port.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  post(message: ToMain): void {
    if (!this.#closed) this.#port.postMessage(message);
  }

  /** Has the main thread's runtime run `method`; rejects with its coded error. */
  call(method: CallMethod, args: unknown[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(mainClosed());
    const id = (this.#nextId += 1);
    const answer = new Promise((resolve, reject) => this.#calls.set(id, { resolve, reject }));
    this.#port.ref();
    this.#port.postMessage({ type: 'call', id, method, args } satisfies ToMain);
    return answer;
  }

  /**
   * Takes what the main thread has posted so far, synchronously: after a swap, before
   * the next decision, so that a hold the swap lost is known before it is settled.
   */
  drain(): void {
    // Reading a closed port crashes Node 20; a closed link has nothing left to read.
    if (this.#closed) return;
    for (;;) {
      const received = receiveMessageOnPort(this.#port);
      if (received === undefined) return;
      this.#receive(received.message as ToWorker);
    }
  }

  close(): void {
    this.#hangUp();
    this.#port.close();
  }

  /**
   * Resolves once the main thread answered this thread's hello: the port is open and
   * its other end is a runtime's. Rejects after `timeoutMs` otherwise.
   */
  welcomed(timeoutMs: number): Promise<void> {
    this.#port.ref();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#onWelcome = null;
        reject(new Error(`no answer from the main thread within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#onWelcome = () => {
        clearTimeout(timer);
        this.#onWelcome = null;
        resolve();
      };
    }).finally(() => {
      if (this.#calls.size === 0) this.#port.unref();
    });
  }

  #receive(message: ToWorker): void {
    if (message.type === 'welcome') {
      this.#onWelcome?.();
      return;
    }
    if (message.type === 'lost') {
      this.#onLost(message.ids);
      return;
    }
    const call = this.#calls.get(message.id);
    if (call === undefined) return;
    this.#calls.delete(message.id);
    if (this.#calls.size === 0) this.#port.unref();
    if (message.type === 'reply') call.resolve(message.value);
    else call.reject(rebuildError(message.error));
  }

  #hangUp(): void {
    this.#closed = true;
    for (const call of this.#calls.values()) call.reject(mainClosed());
    this.#calls.clear();
  }
}

export function mainClosed(): TollgateError {
  return new TollgateError('TOLLGATE_ERR_NOT_STARTED', "the main thread's runtime is closed");
}
