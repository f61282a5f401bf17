import { Readable } from 'node:stream';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import type { Context } from 'koa';
import { parseQuantity } from '@tollgate/core';
import type { Tollgate } from '@tollgate/runtime';
import { createKoaTollgate } from '@tollgate/koa';
import { chatCompletion, chatCompletionEvents, chatFeature } from '../chat-completions.js';
import { estimateTokens, openAiDenial, parseChatRequest } from '../chat-completions.js';
import { complete, generateImage } from '../fake-model.js';

type Body = Record<string, unknown> | undefined;
const bodyOf = (ctx: Context): Body => ctx.request.body as Body;

/**
 * The Quillstone assistant on Koa: the same routes, features and answers as the Express
 * app in ../app.ts. The customer comes from the `tollgate-customer` header and the user
 * from `tollgate-user`.
 */
export function createKoaAssistantApp(tollgate: Tollgate): Koa {
  const gate = createKoaTollgate(tollgate, { user: 'tollgate-user' });
  const app = new Koa();
  const router = new Router();
  app.use(bodyParser());

  // `chat.fast`, `chat.smart`; an unknown model names an unknown feature, denied with 403.
  const chat = gate.requireFeature((ctx) => `chat.${ctx.params.model}`);
  router.post('/chat/:model', chat, (ctx) => {
    const model = ctx.params.model!;
    ctx.body = { model, reply: complete(model, String(bodyOf(ctx)?.prompt ?? '')) };
  });

  const imageCount = (ctx: Context): number => parseQuantity(bodyOf(ctx)?.count ?? 1, 'count');
  router.post('/images', gate.meter('image.generate', imageCount), (ctx) => {
    const prompt = String(bodyOf(ctx)?.prompt ?? '');
    ctx.body = { images: Array.from({ length: imageCount(ctx) }, () => generateImage(prompt)) };
  });

  router.get('/export/pdf', gate.requireFeature('export_pdf'), (ctx) => {
    ctx.type = 'application/pdf';
    ctx.body = Buffer.from('%PDF-1.7\n%quillstone\n');
  });

  // `sso` requires a seat: a user the account has not given one is denied `no_seat`.
  router.get('/sso', gate.requireFeature('sso'), (ctx) => {
    ctx.body = { user: ctx.get('tollgate-user'), sso: true };
  });

  const projectCount = (ctx: Context): number =>
    parseQuantity(bodyOf(ctx)?.project_count, 'project_count');
  router.post('/projects', gate.meter('max_projects', projectCount), (ctx) => {
    ctx.status = 201;
    ctx.body = { project_count: projectCount(ctx) };
  });

  const tokens = (ctx: Context): number => parseQuantity(bodyOf(ctx)?.tokens, 'tokens');
  router.post('/complete', gate.meter('api_tokens', tokens), (ctx) => {
    ctx.body = { tokens: tokens(ctx), text: complete('tokens', String(bodyOf(ctx)?.prompt ?? '')) };
  });

  const openAiGate = createKoaTollgate(tollgate, { denialBody: openAiDenial });
  const hold = openAiGate.reserve(
    (ctx) => chatFeature(bodyOf(ctx)),
    (ctx) => estimateTokens(bodyOf(ctx)),
  );
  router.post('/v1/chat/completions', hold, (ctx) => {
    const request = parseChatRequest(bodyOf(ctx));
    const tollgateOfRequest = ctx.state.tollgate!;
    if (!request.stream) {
      const reply = chatCompletion(request);
      tollgateOfRequest.setActual(reply.usage.total_tokens);
      ctx.body = reply;
      return;
    }
    ctx.set('cache-control', 'no-cache');
    ctx.type = 'text/event-stream';
    const events = chatCompletionEvents(request, (n) => tollgateOfRequest.setActual(n));
    ctx.body = Readable.from(events);
  });

  app.use(router.routes());
  return app;
}
