import { TollgateError, parseQuantity } from '@tollgate/core';
import type { DenialBody } from '@tollgate/runtime';
import { complete } from './fake-model.js';

/**
 * An OpenAI-compatible `POST /v1/chat/completions` over the fake model, shared by the
 * Express, Koa and Nest apps. Only what the apps need is framework-neutral here: reading
 * the request, the feature and token estimate it costs, and the reply in both forms.
 *
 * The model is `fast` or `smart`; each token costs credits of `chat.fast` or
 * `chat.smart`. A request holds its prompt tokens plus `max_tokens` (16 by default) and
 * settles the tokens the reply really used, reported in `usage`.
 */
export interface ChatRequest {
  model: string;
  prompt: string;
  promptTokens: number;
  maxTokens: number;
  stream: boolean;
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

const defaultMaxTokens = 16;
// Fixed, so replies are byte-for-byte reproducible: 1 March 2026 00:00 UTC.
const createdSeconds = 1_772_323_200;

/** Reads the body; throws a coded 400 naming the field that is wrong. */
export function parseChatRequest(body: unknown): ChatRequest {
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof fields.model !== 'string' || !/^[a-z]{1,32}$/.test(fields.model)) {
    throw new TollgateError('TOLLGATE_ERR_VALIDATION', 'model: expected fast or smart', {
      field: 'model',
    });
  }
  if (!Array.isArray(fields.messages) || fields.messages.length === 0) {
    throw new TollgateError('TOLLGATE_ERR_VALIDATION', 'messages: expected a non-empty array', {
      field: 'messages',
    });
  }
  const prompt = fields.messages
    .map((message: { content?: unknown }) => String(message?.content ?? ''))
    .join('\n');
  const maxTokens = parseQuantity(fields.max_tokens ?? defaultMaxTokens, 'max_tokens');
  return {
    model: fields.model,
    prompt,
    promptTokens: countTokens(prompt),
    maxTokens,
    stream: fields.stream === true,
  };
}

/** The credits feature a chat request uses: `chat.fast` or `chat.smart`. */
export function chatFeature(body: unknown): string {
  return `chat.${parseChatRequest(body).model}`;
}

/** What a request holds before the model runs: its prompt plus the most it may reply. */
export function estimateTokens(body: unknown): number {
  const chat = parseChatRequest(body);
  return chat.promptTokens + chat.maxTokens;
}

/** The fake model's reply words, at most 12 and at most `max_tokens`. */
function replyWords(chat: ChatRequest): string[] {
  const text = complete(chat.model, chat.prompt, Math.min(chat.maxTokens, 12));
  return text === '' ? [] : text.split(' ');
}

function usageOf(chat: ChatRequest, completionTokens: number): ChatUsage {
  return {
    prompt_tokens: chat.promptTokens,
    completion_tokens: completionTokens,
    total_tokens: chat.promptTokens + completionTokens,
  };
}

/** A non-streamed `chat.completion` object. */
export function chatCompletion(chat: ChatRequest): { usage: ChatUsage } & Record<string, unknown> {
  const words = replyWords(chat);
  return {
    id: `chatcmpl-${chat.model}-${words.length}`,
    object: 'chat.completion',
    created: createdSeconds,
    model: chat.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: words.join(' ') },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
    usage: usageOf(chat, words.length),
  };
}

/**
 * The server-sent events of a streamed completion: one `chat.completion.chunk` per word,
 * a last chunk carrying `usage`, then `[DONE]`. `report` receives the token total
 * before the last event, so an adapter settles it when the stream ends.
 */
export async function* chatCompletionEvents(
  chat: ChatRequest,
  report: (totalTokens: number) => void,
): AsyncGenerator<string> {
  const words = replyWords(chat);
  const chunk = (delta: object, finish: string | null, usage: ChatUsage | null): string => {
    const choices = usage === null ? [{ index: 0, delta, finish_reason: finish }] : [];
    const body = { id: `chatcmpl-${chat.model}-${words.length}`, object: 'chat.completion.chunk' };
    const event = { ...body, created: createdSeconds, model: chat.model, choices, usage };
    return `data: ${JSON.stringify(event)}\n\n`;
  };
  yield chunk({ role: 'assistant', content: '' }, null, null);
  for (const [index, word] of words.entries()) {
    // Yielding to the event loop between words makes this a real stream of writes.
    await new Promise((resolve) => setImmediate(resolve));
    yield chunk({ content: index === 0 ? word : ` ${word}` }, null, null);
  }
  yield chunk({}, 'stop', null);
  const usage = usageOf(chat, words.length);
  report(usage.total_tokens);
  yield chunk({}, null, usage);
  yield 'data: [DONE]\n\n';
}

/**
 * Denials in the shape OpenAI clients read: the problem document keeps its members and
 * gains `error: { message, type, code }` (RFC 9457 allows extension members).
 */
export const openAiDenial: DenialBody = (problem) => ({
  ...problem,
  error: { message: problem.title, type: problem.reason, code: problem.reason, param: null },
});

/** Whitespace-separated words: the fake model's notion of a token. */
function countTokens(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? 0 : trimmed.split(/\s+/).length;
}
