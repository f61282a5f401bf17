import { Body, Controller, HttpCode, Post, UseFilters } from '@nestjs/common';
import { Readable } from 'node:stream';
import { StreamableFile } from '@nestjs/common';
import { Reserve, TollgateContext } from '@tollgate/nestjs';
import type { RequestTollgate } from '@tollgate/nestjs';
import { chatCompletion, chatCompletionEvents, chatFeature } from '../chat-completions.js';
import { estimateTokens, parseChatRequest } from '../chat-completions.js';
import { OpenAiDenialFilter } from './openai-denial.filter.js';

/**
 * The OpenAI-compatible route on NestJS. The handler reports the tokens used through
 * `@TollgateContext()`; a stream reports them before its last event and is settled when
 * that event has been written. Its denials carry OpenAI's `error` member; the module's
 * other routes answer plain problem documents, as on Express and Koa.
 *
 * The stream is a `StreamableFile` of the events the Express and Koa apps write, not an
 * `@Sse` Observable: `@Sse` declares a GET route whose every answer is an event stream,
 * and writes an `id:` line per event and an `event: error` on failure, while OpenAI's
 * endpoint is one POST that answers JSON, or events when the body says `stream: true`.
 */
@Controller('v1/chat')
@UseFilters(OpenAiDenialFilter)
export class CompletionsController {
  @Post('completions')
  @HttpCode(200)
  @Reserve((request) => chatFeature(request.body), (request) => estimateTokens(request.body))
  completions(@Body() body: unknown, @TollgateContext() tollgate: RequestTollgate): object {
    const request = parseChatRequest(body);
    if (!request.stream) {
      const reply = chatCompletion(request);
      tollgate.setActual(reply.usage.total_tokens);
      return reply;
    }
    const events = chatCompletionEvents(request, (n) => tollgate.setActual(n));
    return new StreamableFile(Readable.from(events), { type: 'text/event-stream' });
  }
}
