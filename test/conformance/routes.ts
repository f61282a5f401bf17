import { validationError } from '@tollgate/core';
import type { Tollgate } from '@tollgate/runtime';
import type { HttpGateOptions } from '@tollgate/runtime';

/**
 * The routes every adapter's conformance app declares, with the same features and
 * quantities (features from packages/runtime/test/helpers/fixtures.ts):
 *
 * | route | guard | handler |
 * | --- | --- | --- |
 * | GET /api | require api_calls (metered) | `{ remaining }` from the decision |
 * | GET /export | require export_pdf (boolean) | `{ ok }` |
 * | GET /unknown | require a feature function naming no_such_feature | `{ ok }` |
 * | POST /images | meter image_generate by body.count | `{ count }` |
 * | POST /reserve?actual=n | reserve chat_message 10 | reports n when given |
 * | POST /reserve-result | reserve chat_message 10, actual from the result | `{ tokens }` |
 * | GET /stream?tokens=n&hang=1 | reserve chat_message 20 | streams n lines, reports n |
 * | GET /stream-fail | reserve chat_message 20 | streams 2 lines, then its source fails |
 * | GET /fail/throw, /fail/status, /fail/client, /hang | require chat_message ×5 | fails |
 * | GET /fail/invalid | require chat_message ×5 | throws a coded 400 |
 * | GET /broken/:as | meter image_generate by `brokenQuantities[as]` | never runs |
 * | GET /seat | require sso_login (boolean, requires a seat) | `{ ok }` |
 * | GET /context | none | consumes chat_message ×3 through the request context |
 *
 * Every app also copies the `x-verified-sub` header to where its framework's JWT
 * middleware would leave a verified payload, so `{ claim: 'sub' }` can be tested.
 */
export interface AppOptions {
  runtime: Tollgate;
  gate: HttpGateOptions<never>;
  /** Called when a hanging handler has started (and, when streaming, sent its first line). */
  handlerStarted: () => void;
}

export interface RunningApp {
  url: string;
  close(): Promise<void>;
}

export const reserveEstimate = 10;
export const streamEstimate = 20;
export const failQuantity = 5;
export const contextQuantity = 3;

/** The body of a streamed response: one line per token, then the report of the count. */
export async function* tokenLines(
  tokens: number,
  report: (tokens: number) => void,
  hang: { started: () => void } | null,
): AsyncGenerator<string> {
  for (let index = 0; index < tokens; index += 1) {
    yield `token ${index}\n`;
    // A hanging stream waits for the client to leave after its first line.
    if (hang !== null) {
      hang.started();
      await new Promise<never>(() => undefined);
    }
  }
  // Reported before the generator ends, so before the response's last byte.
  report(tokens);
}

/** What `/broken/:as` makes its quantity function return: none of them is a quantity. */
export const brokenQuantities: Record<string, unknown> = {
  fraction: 1.5,
  negative: -1,
  string: '3',
};

/** The quantity function of `/broken/:as`, typed as a quantity function must be. */
export function brokenQuantity(as: unknown): number {
  return brokenQuantities[String(as)] as number;
}

/** The body of a stream whose source fails after two lines, before reporting anything. */
export async function* failingLines(): AsyncGenerator<string> {
  yield 'token 0\n';
  yield 'token 1\n';
  throw new Error('the model failed mid-stream');
}

/** The coded 400 that `/fail/invalid` throws from its handler. */
export function invalidPrompt(): never {
  throw validationError('prompt', 'expected a string');
}

/** Reads `?name=` from a URL's query as an integer, or undefined when absent. */
export function queryNumber(url: string, name: string): number | undefined {
  const value = new URL(url, 'http://localhost').searchParams.get(name);
  return value === null ? undefined : Number(value);
}
