import type { ServerResponse } from 'node:http';
import type { SnapshotService } from './snapshot-service.js';

/**
 * Pushes "a newer snapshot exists" to runtimes over server-sent events. A write that may
 * change a snapshot (an admin call, ingested usage) pokes its environment; the hub then
 * builds the current version once and sends `event: snapshot` with `{"version": N}` to
 * every subscriber that has not seen N. A timer pokes too, so that changes made by another
 * control-plane instance or by time passing (a trial ending) reach runtimes as well.
 *
 * Every `heartbeatIntervalMs`, each subscriber also gets `event: heartbeat` with the
 * current version, sent or not before. It confirms to a runtime holding that version that
 * its snapshot is still current, and its absence tells the runtime the connection went
 * silent (a paused or partitioned instance), which an open socket alone cannot.
 */
export class SnapshotStreamHub {
  readonly #snapshots: SnapshotService;
  readonly #subscribers = new Map<string, Set<ServerResponse>>();
  readonly #pending = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();
  readonly #timers: NodeJS.Timeout[];
  #closed = false;

  constructor(snapshots: SnapshotService, checkIntervalMs: number, heartbeatIntervalMs: number) {
    this.#snapshots = snapshots;
    const check = setInterval(() => {
      for (const environment of this.#subscribers.keys()) this.poke(environment);
    }, checkIntervalMs);
    const heartbeat = setInterval(() => {
      for (const environment of this.#subscribers.keys()) {
        this.#heartbeat(environment).catch(() => undefined);
      }
    }, heartbeatIntervalMs);
    this.#timers = [check, heartbeat];
    for (const timer of this.#timers) timer.unref();
  }

  /** Starts an event stream on `response` and sends the current version at once. */
  subscribe(environment: string, response: ServerResponse): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    response.write(': tollgate snapshot stream\n\n');
    let set = this.#subscribers.get(environment);
    if (set === undefined) {
      set = new Set();
      this.#subscribers.set(environment, set);
    }
    set.add(response);
    response.on('close', () => set.delete(response));
    this.poke(environment);
  }

  /** Coalesces pokes: one build runs at a time per environment, and one more after it. */
  poke(environment: string): void {
    if (this.#closed || !this.#subscribers.get(environment)?.size) return;
    if (this.#pending.has(environment)) {
      this.#again.add(environment);
      return;
    }
    const run = this.#push(environment)
      .catch(() => undefined)
      .finally(() => {
        this.#pending.delete(environment);
        if (this.#again.delete(environment)) this.poke(environment);
      });
    this.#pending.set(environment, run);
  }

  /** Ends every stream; runtimes reconnect to another instance or fall back to polling. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    for (const set of this.#subscribers.values()) for (const response of set) response.end();
    this.#subscribers.clear();
  }

  async #push(environment: string): Promise<void> {
    const { version } = await this.#snapshots.current(environment);
    const line = `event: snapshot\ndata: ${JSON.stringify({ version })}\n\n`;
    for (const response of this.#subscribers.get(environment) ?? []) {
      const sent = sentVersions.get(response) ?? 0;
      if (sent >= version) continue;
      sentVersions.set(response, version);
      response.write(line);
    }
  }

  /**
   * Sends every subscriber the current version as a heartbeat. A runtime holding an
   * older version refreshes on it, as on a snapshot event, so it is marked as sent.
   */
  async #heartbeat(environment: string): Promise<void> {
    if (this.#closed) return;
    const { version } = await this.#snapshots.current(environment);
    const line = `event: heartbeat\ndata: ${JSON.stringify({ version })}\n\n`;
    for (const response of this.#subscribers.get(environment) ?? []) {
      sentVersions.set(response, Math.max(sentVersions.get(response) ?? 0, version));
      response.write(line);
    }
  }
}

const sentVersions = new WeakMap<ServerResponse, number>();
