import { setTimeout as sleep } from 'node:timers/promises';
import { createParser } from 'eventsource-parser';
import type { ControlPlaneClient } from './control-plane-client.js';
import { channelNames, publish } from './diagnostics.js';
import { streamError } from './snapshot-delta.js';

export interface SnapshotStreamParts {
  runtimeId: string;
  client: ControlPlaneClient;
  /** The version held now. */
  heldVersion: () => number;
  /** Swaps in a newer snapshot (a delta when possible). */
  refresh: () => Promise<boolean>;
  /** The control plane named the version held: the snapshot is current as of now. */
  confirm: () => void;
  /** Backoff between reconnections, doubled per failure up to 16 times the base. */
  reconnectDelayMs: number;
  /** A connection that sends nothing (no heartbeat) for this long is dropped and reopened. */
  silenceMs: number;
  /** The source of jitter, in [0, 1). */
  random: () => number;
}

/**
 * The wait before reconnection attempt `failures` (0 after a connection that worked):
 * "equal jitter" over the doubled delay, so it lies in [cap / 2, cap), where cap is
 * `baseMs * 2^failures`. Runtimes cut off together (a restarted control plane) spread out.
 */
export function reconnectDelayOf(baseMs: number, failures: number, random: () => number) {
  const capMs = baseMs * 2 ** failures;
  return Math.floor(capMs / 2 + random() * (capMs / 2));
}

/**
 * Holds the control plane's server-sent event stream open and refreshes as soon as it
 * names a version newer than the one held. A malformed event, or one naming an older
 * version, is reported (`tollgate:snapshot:stream-failed`) and ignored: the stream never
 * takes the runtime back. The stream reconnects after a failure until `stop()`.
 *
 * An event naming the version held (a heartbeat, sent at a fixed interval) confirms the
 * snapshot is current; one naming a newer version confirms it only once the refresh has
 * loaded it. A connection silent for `silenceMs` is taken as dead (a paused or
 * partitioned control plane keeps the socket open) and reopened.
 */
export class SnapshotStream {
  readonly #parts: SnapshotStreamParts;
  readonly #abort = new AbortController();
  #connected = false;
  #running: Promise<void> | null = null;

  constructor(parts: SnapshotStreamParts) {
    this.#parts = parts;
  }

  /** True while the stream is open. Freshness comes from confirmations, not from this. */
  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#abort.signal.aborted) {
      try {
        await this.#connect(() => {
          failures = 0;
        });
      } catch (error) {
        if (this.#abort.signal.aborted) break;
        failures = Math.min(failures + 1, 4);
        this.#failed(error);
      } finally {
        this.#connected = false;
      }
      const { reconnectDelayMs: baseMs, random, runtimeId } = this.#parts;
      const delayMs = reconnectDelayOf(baseMs, failures, random);
      publish(channelNames.streamReconnect, { runtimeId, failures, delayMs });
      await sleep(delayMs, undefined, { signal: this.#abort.signal }).catch(() => undefined);
    }
  }

  /** One connection, read until it ends, fails, or stays silent past `silenceMs`. */
  async #connect(onOpen: () => void): Promise<void> {
    const connection = new AbortController();
    const stop = (): void => connection.abort();
    this.#abort.signal.addEventListener('abort', stop, { once: true });
    let silent = false;
    let timer: NodeJS.Timeout | undefined;
    const watch = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        silent = true;
        connection.abort();
      }, this.#parts.silenceMs);
      timer.unref();
    };
    try {
      watch();
      const body = await this.#parts.client.openStream(connection.signal);
      this.#connected = true;
      onOpen();
      await this.#read(body, watch);
    } catch (error) {
      if (!silent) throw error;
      throw streamError(`the stream sent nothing for ${this.#parts.silenceMs} ms`);
    } finally {
      clearTimeout(timer);
      this.#abort.signal.removeEventListener('abort', stop);
    }
  }

  /** Parses the body as server-sent events; each event's data is one JSON object. */
  async #read(body: AsyncIterable<Uint8Array>, heard: () => void): Promise<void> {
    const decoder = new TextDecoder();
    const pending: string[] = [];
    const parser = createParser({
      onEvent: (event) => pending.push(event.data),
      onError: (error) => this.#failed(streamError(`malformed stream: ${error.message}`)),
    });
    for await (const chunk of body) {
      heard();
      parser.feed(decoder.decode(chunk, { stream: true }));
      // Events are applied in order, one refresh at a time, before reading further.
      while (pending.length > 0) await this.#onEvent(pending.shift()!);
    }
  }

  async #onEvent(data: string): Promise<void> {
    if (data === '') return;
    const version = parseVersion(data);
    if (version === null) return this.#failed(streamError(`malformed event: ${data.slice(0, 80)}`));
    const heldVersion = this.#parts.heldVersion();
    publish(channelNames.streamEvent, { runtimeId: this.#parts.runtimeId, version, heldVersion });
    if (version < heldVersion) {
      return this.#failed(streamError(`pushed version ${version} is older than ${heldVersion}`));
    }
    if (version === heldVersion) return this.#parts.confirm();
    // A refresh already in flight may have fetched an older version: go again, bounded.
    // A refresh that loads confirms by itself; one that fails leaves the age running.
    for (let attempt = 0; attempt < 3 && this.#parts.heldVersion() < version; attempt++) {
      await this.#parts.refresh().catch((error: unknown) => this.#failed(error));
    }
  }

  #failed(error: unknown): void {
    publish(channelNames.streamFailed, { runtimeId: this.#parts.runtimeId, error });
  }
}

function parseVersion(data: string): number | null {
  try {
    const version = (JSON.parse(data) as { version?: unknown }).version;
    return Number.isSafeInteger(version) && (version as number) > 0 ? (version as number) : null;
  } catch {
    return null;
  }
}
