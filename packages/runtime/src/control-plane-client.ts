import { Packr } from 'msgpackr';
import { Agent, request } from 'undici';
import { TollgateError } from '@tollgate/core';

/** One recorded use, as the control plane ingests it (`POST /v1/usage`, schema 1). */
export interface UsageEvent {
  /** The idempotency key: the caller's, or `<runtimeId>:<seq>`. */
  key: string;
  customer: string;
  feature: string;
  /** In the feature's unit, never its credit cost. */
  quantity: number;
  /** Epoch milliseconds, stamped once at the decision. */
  time: number;
  /** The lease the use was decided under, when the feature is in lease mode. */
  lease?: string;
}

export interface UsageAck {
  accepted: number;
  duplicates: number;
  /** Per event: the watermark a snapshot must reach to include it; null when rejected. */
  sequences: (number | null)[];
  /** Events the control plane will never record (a time outside its window). */
  rejected: RejectedUsage[];
}

export interface RejectedUsage {
  index: number;
  key: string;
  code: string;
  message: string;
}

/** A snapshot as served: `null` bytes mean the server answered 304 (nothing newer). */
export interface FetchedSnapshot {
  bytes: Uint8Array | null;
  version: number;
}

/**
 * What the control plane answered when it was not a success. `permanent` means the
 * request will never succeed as sent (a 4xx), so retrying it is pointless.
 */
export class ControlPlaneError extends TollgateError {
  readonly permanent: boolean;
  readonly body: unknown;

  constructor(message: string, options: { permanent: boolean; body?: unknown; cause?: unknown }) {
    super('TOLLGATE_ERR_CONTROL_PLANE', message, { cause: options.cause });
    this.permanent = options.permanent;
    this.body = options.body;
  }
}

const packr = new Packr({ useRecords: false });
const usageSchemaVersion = 1;

/** The HTTP side of the runtime: fetches snapshots and posts usage batches over undici. */
export class ControlPlaneClient {
  readonly #baseUrl: string;
  readonly #authorization: string;
  readonly #agent = new Agent({ keepAliveTimeout: 10_000, connect: { timeout: 10_000 } });
  // The stream holds its connection for hours; it gets its own pool.
  readonly #streamAgent = new Agent({ connect: { timeout: 10_000 } });

  constructor(baseUrl: string, apiKey: string) {
    this.#baseUrl = baseUrl.replace(/\/+$/, '');
    this.#authorization = `Bearer ${apiKey}`;
  }

  /** Fetches the current snapshot; `heldVersion` lets the server answer 304. */
  async fetchSnapshot(heldVersion: number): Promise<FetchedSnapshot> {
    const headers: Record<string, string> = { authorization: this.#authorization };
    if (heldVersion > 0) headers['if-none-match'] = `"${heldVersion}"`;
    const response = await this.#send('GET', '/v1/snapshot', headers, undefined);
    if (response.statusCode === 304) {
      await response.body.dump();
      return { bytes: null, version: heldVersion };
    }
    if (response.statusCode !== 200) throw await failure(response, 'GET /v1/snapshot');

    // The version inside the bytes is authoritative; the header is informational.
    const header = Number(response.headers['tollgate-snapshot-version']);
    const bytes = new Uint8Array(await response.body.arrayBuffer());
    const version = Number.isSafeInteger(header) ? header : 0;
    return { bytes, version };
  }

  /** Posts one batch. Resolves with the acknowledgement; throws `ControlPlaneError`. */
  async postUsage(events: readonly UsageEvent[]): Promise<UsageAck> {
    const body = packr.pack({ schema_version: usageSchemaVersion, events });
    const headers = {
      authorization: this.#authorization,
      'content-type': 'application/msgpack',
    };
    const response = await this.#send('POST', '/v1/usage', headers, body);
    if (response.statusCode !== 200) throw await failure(response, 'POST /v1/usage');
    const ack = (await response.body.json()) as Partial<UsageAck>;
    return {
      accepted: Number(ack.accepted ?? 0),
      duplicates: Number(ack.duplicates ?? 0),
      sequences: Array.isArray(ack.sequences) ? ack.sequences : events.map(() => null),
      rejected: Array.isArray(ack.rejected) ? ack.rejected : [],
    };
  }

  /** Fetches the customers changed since `heldVersion`; null bytes mean "fetch in full". */
  async fetchDelta(heldVersion: number): Promise<Uint8Array | null> {
    const headers = { authorization: this.#authorization };
    const path = `/v1/snapshot/delta?since=${heldVersion}`;
    const response = await this.#send('GET', path, headers, undefined);
    // 204: the control plane cannot diff from that version; 404: it serves no deltas.
    if (response.statusCode === 204 || response.statusCode === 404) {
      await response.body.dump();
      return null;
    }
    if (response.statusCode !== 200) throw await failure(response, 'GET /v1/snapshot/delta');
    return new Uint8Array(await response.body.arrayBuffer());
  }

  /** Posts a JSON body and returns the JSON answer; throws `ControlPlaneError`. */
  async postJson(path: string, body: unknown): Promise<Record<string, unknown>> {
    const headers = { authorization: this.#authorization, 'content-type': 'application/json' };
    const encoded = new TextEncoder().encode(JSON.stringify(body));
    const response = await this.#send('POST', path, headers, encoded);
    if (response.statusCode !== 200) throw await failure(response, `POST ${path}`);
    return (await response.body.json()) as Record<string, unknown>;
  }

  /** Opens the server-sent event stream of snapshot versions; the caller reads the body. */
  async openStream(signal: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    const response = await request(`${this.#baseUrl}/v1/snapshot/stream`, {
      method: 'GET',
      headers: { authorization: this.#authorization, accept: 'text/event-stream' },
      dispatcher: this.#streamAgent,
      signal,
      bodyTimeout: 0,
    });
    if (response.statusCode !== 200) throw await failure(response, 'GET /v1/snapshot/stream');
    return response.body;
  }

  async close(): Promise<void> {
    await this.#agent.close();
    await this.#streamAgent.destroy();
  }

  async #send(
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    body: Uint8Array | undefined,
  ): Promise<Awaited<ReturnType<typeof request>>> {
    try {
      return await request(this.#baseUrl + path, {
        method,
        headers,
        body,
        dispatcher: this.#agent,
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
    } catch (cause) {
      throw new ControlPlaneError(`${method} ${path} failed: no answer from the control plane`, {
        permanent: false,
        cause,
      });
    }
  }
}

/** Reads an error answer; 4xx other than 408 and 429 are permanent, the rest retryable. */
async function failure(
  response: Awaited<ReturnType<typeof request>>,
  what: string,
): Promise<ControlPlaneError> {
  const status = response.statusCode;
  let body: unknown;
  try {
    body = await response.body.json();
  } catch {
    body = undefined;
  }
  const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
  return new ControlPlaneError(`${what} answered ${status}`, { permanent, body });
}
