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
  /** Backoff between reconnections, doubled per failure up to 16 times the base. */
  reconnectDelayMs: number;
}

/**
 * Holds the control plane's server-sent event stream open and refreshes as soon as it
 * names a version newer than the one held. A malformed event, or one naming an older
 * version, is reported (`tollgate:snapshot:stream-failed`) and ignored: the stream never
 * takes the runtime back. The stream reconnects after a failure until `stop()`.
 */
export class SnapshotStream {
  readonly #parts: SnapshotStreamParts;
  readonly #abort = new AbortController();
  #connected = false;
  #running: Promise<void> | null = null;

  constructor(parts: SnapshotStreamParts) {
    this.#parts = parts;
  }

  /** True while the stream is open: the snapshot held is as fresh as the last push. */
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
        const body = await this.#parts.client.openStream(this.#abort.signal);
        this.#connected = true;
        failures = 0;
        await this.#read(body);
      } catch (error) {
        if (this.#abort.signal.aborted) break;
        failures = Math.min(failures + 1, 4);
        this.#failed(error);
      } finally {
        this.#connected = false;
      }
      const delayMs = this.#parts.reconnectDelayMs * 2 ** failures;
      await sleep(delayMs, undefined, { signal: this.#abort.signal }).catch(() => undefined);
    }
  }

  /** Parses the body as server-sent events; each event's data is one JSON object. */
  async #read(body: AsyncIterable<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    const pending: string[] = [];
    const parser = createParser({
      onEvent: (event) => pending.push(event.data),
      onError: (error) => this.#failed(streamError(`malformed stream: ${error.message}`)),
    });
    for await (const chunk of body) {
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
    // A refresh already in flight may have fetched an older version: go again, bounded.
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
