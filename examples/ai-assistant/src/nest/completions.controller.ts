import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { Readable } from 'node:stream';
import { StreamableFile } from '@nestjs/common';
import { Reserve, TollgateContext } from '@tollgate/nestjs';
import type { RequestTollgate } from '@tollgate/nestjs';
import { chatCompletion, chatCompletionEvents, chatFeature } from '../chat-completions.js';
import { estimateTokens, parseChatRequest } from '../chat-completions.js';

/**
 * The OpenAI-compatible route on NestJS. The handler reports the tokens used through
 * `@TollgateContext()`; a stream reports them before its last event and is settled when
 * that event has been written.
 */
@Controller('v1/chat')
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
