import { request } from 'undici';

/** A JSON answer from either server: status and parsed body. */
export interface Answer {
  status: number;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Thin HTTP helpers the demo drives both servers with: plain requests over real
 * sockets, the way any client would send them.
 */
export class HttpClient {
  constructor(
    private readonly baseUrl: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  async send(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...this.headers, ...options.headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const response = await request(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await response.body.text();
    const type = String(response.headers['content-type'] ?? '');
    return {
      status: response.statusCode,
      body: type.includes('json') && text !== '' ? JSON.parse(text) : text,
      headers: response.headers,
    };
  }
}

/** Formats an integer with thousands separators, the way the scenario writes them. */
export function amount(value: number | null | undefined): string {
  if (value === null) return 'unlimited';
  if (value === undefined) return '-';
  return value.toLocaleString('en-US');
}
