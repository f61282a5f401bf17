import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { unpack } from 'msgpackr';
import { encodeSnapshot } from '@tollgate/snapshot';
import type { SnapshotInput } from '@tollgate/snapshot';

export const runtimeKey = 'tg_test_runtime_key';

export interface ReceivedEvent {
  key: string;
  customer: string;
  feature: string;
  quantity: number;
  time: number;
}

/** What the stand-in serves as its snapshot: an input to encode, or raw bytes. */
export type SnapshotSource = SnapshotInput | { bytes: Uint8Array; version: number };

/**
 * A small stand-in for the control plane on 127.0.0.1: serves a snapshot built by the
 * test, ingests msgpack usage batches with deduplication by key, and can be told to
 * answer the next usage posts with an error status.
 */
export class ControlPlaneStub {
  readonly batches: ReceivedEvent[][] = [];
  /** Events accepted once each, in the order they arrived. */
  readonly accepted: ReceivedEvent[] = [];
  /** Statuses the next usage posts answer with, before ingestion resumes. */
  readonly usageFailures: number[] = [];
  /** Statuses the next snapshot fetches answer with, before serving resumes. */
  readonly snapshotFailures: number[] = [];
  /** Open snapshot streams, in the order they were opened. */
  readonly streams: ServerResponse[] = [];
  streamsOpened = 0;
  #streamOpened: Array<() => void> = [];
  snapshotRequests = 0;
  usageRequests = 0;
  #snapshot: () => SnapshotSource;
  #server: Server;
  #keys = new Set<string>();
  #waiters: Array<{ count: number; resolve: () => void }> = [];
  #snapshotGate: Promise<void> | null = null;
  #snapshotRequested: Array<() => void> = [];

  private constructor(snapshot: () => SnapshotSource) {
    this.#snapshot = snapshot;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
  }

  static async start(snapshot: () => SnapshotSource): Promise<ControlPlaneStub> {
    const stub = new ControlPlaneStub(snapshot);
    stub.#server.listen(0, '127.0.0.1');
    await once(stub.#server, 'listening');
    return stub;
  }

  get url(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  serve(snapshot: () => SnapshotSource): void {
    this.#snapshot = snapshot;
  }

  /** Holds snapshot answers back until the returned function is called. */
  pauseSnapshots(): () => void {
    let open = (): void => undefined;
    this.#snapshotGate = new Promise((resolve) => {
      open = resolve;
    });
    return () => {
      this.#snapshotGate = null;
      open();
    };
  }

  /** Sends one server-sent event to every open stream. */
  push(event: string, data: unknown): void {
    const line = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const stream of this.streams) stream.write(line);
  }

  /** Resolves once `count` streams have been opened in all. */
  streamsReach(count: number): Promise<void> {
    if (this.streamsOpened >= count) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () =>
        this.streamsOpened >= count ? resolve() : this.#streamOpened.push(check);
      this.#streamOpened.push(check);
    });
  }

  #openStream(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write(': stub stream\n\n');
    this.streams.push(res);
    res.on('close', () => this.streams.splice(this.streams.indexOf(res), 1));
    this.streamsOpened += 1;
    for (const notify of this.#streamOpened.splice(0)) notify();
  }

  /** Resolves when the next snapshot request arrives. */
  nextSnapshotRequest(): Promise<void> {
    return new Promise((resolve) => this.#snapshotRequested.push(resolve));
  }

  /** Resolves once `count` usage requests have been answered, successfully or not. */
  usageRequestsReach(count: number): Promise<void> {
    if (this.usageRequests >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  /** The usage watermark a snapshot built now would state: events accepted so far. */
  get watermark(): number {
    return this.accepted.length;
  }

  /** Sum of accepted quantities for one customer and feature. */
  total(customer: string, feature: string): number {
    return this.accepted
      .filter((event) => event.customer === customer && event.feature === feature)
      .reduce((sum, event) => sum + event.quantity, 0);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, 'close');
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.headers.authorization !== `Bearer ${runtimeKey}`) {
      return json(res, 401, { code: 'TOLLGATE_ERR_UNAUTHENTICATED', message: 'unknown key' });
    }
    if (req.method === 'GET' && req.url === '/v1/snapshot') return this.#serveSnapshot(req, res);
    if (req.method === 'GET' && req.url === '/v1/snapshot/stream') return this.#openStream(res);
    if (req.method === 'POST' && req.url === '/v1/usage') return this.#ingest(req, res);
    json(res, 404, { code: 'TOLLGATE_ERR_NOT_FOUND', message: 'no such route' });
  }

  async #serveSnapshot(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.snapshotRequests += 1;
    for (const resolve of this.#snapshotRequested.splice(0)) resolve();
    await this.#snapshotGate;
    const failure = this.snapshotFailures.shift();
    if (failure !== undefined) {
      return json(res, failure, { code: 'TOLLGATE_ERR_INTERNAL', message: 'failing' });
    }
    const source = this.#snapshot();
    const version = 'bytes' in source ? source.version : source.snapshotVersion;
    if (req.headers['if-none-match'] === `"${version}"`) {
      res.writeHead(304).end();
      return;
    }
    const bytes = 'bytes' in source ? source.bytes : encodeSnapshot(source);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'tollgate-snapshot-version': String(version),
    });
    res.end(bytes);
  }

  async #ingest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const batch = unpack(Buffer.concat(chunks)) as {
      schema_version: number;
      events: ReceivedEvent[];
    };
    this.batches.push(batch.events);
    const failure = this.usageFailures.shift();
    if (failure !== undefined) {
      this.#answered();
      return json(res, failure, { code: 'TOLLGATE_ERR_USAGE_BATCH_INVALID', message: 'no' });
    }
    let duplicates = 0;
    // Each accepted event's sequence is its position in `accepted`, as `watermark` counts.
    const sequences: number[] = [];
    for (const event of batch.events) {
      if (this.#keys.has(event.key)) {
        duplicates += 1;
        sequences.push(this.accepted.length);
        continue;
      }
      this.#keys.add(event.key);
      this.accepted.push(event);
      sequences.push(this.accepted.length);
    }
    this.#answered();
    const accepted = batch.events.length - duplicates;
    json(res, 200, { accepted, duplicates, sequences, rejected: [] });
  }

  #answered(): void {
    this.usageRequests += 1;
    for (const waiter of this.#waiters.filter((w) => w.count <= this.usageRequests)) {
      waiter.resolve();
    }
    this.#waiters = this.#waiters.filter((w) => w.count > this.usageRequests);
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
