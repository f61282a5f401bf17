import express, { type Express, type RequestHandler } from 'express';
import { parseQuantity } from '@tollgate/core';
import type { Tollgate } from '@tollgate/runtime';
import { createExpressTollgate } from '@tollgate/express';
import { complete, generateImage } from './fake-model.js';
import { chatCompletion, chatCompletionEvents, chatFeature } from './chat-completions.js';
import { estimateTokens, openAiDenial, parseChatRequest } from './chat-completions.js';

/**
 * The Quillstone AI assistant: chat with a fast and a smart model, image generation,
 * PDF export, projects, and token-metered completions. Every route is guarded by
 * Tollgate; the handlers contain no pricing logic at all.
 *
 * The customer comes from the `tollgate-customer` header and the user from `tollgate-user`
 * (in a real app: both from the session).
 */
export function createAssistantApp(tollgate: Tollgate): Express {
  const gate = createExpressTollgate(tollgate, { user: 'tollgate-user' });
  const app = express();
  app.use(express.json());

  // The model is part of the path, so the feature is too: `chat.fast`, `chat.smart`.
  // An unknown model names an unknown feature, which Tollgate denies.
  const chatGuards = new Map<string, RequestHandler>();
  app.post('/chat/:model', (request, response, next) => {
    const feature = `chat.${request.params.model}`;
    let guard = chatGuards.get(feature);
    if (guard === undefined) {
      guard = gate.requireFeature(feature);
      if (chatGuards.size < 64) chatGuards.set(feature, guard);
    }
    guard(request, response, next);
  });
  app.post('/chat/:model', (request, response) => {
    const prompt = String(request.body?.prompt ?? '');
    response.json({ model: request.params.model, reply: complete(request.params.model!, prompt) });
  });

  const imageCount: (request: express.Request) => number = (request) =>
    parseQuantity(request.body?.count ?? 1, 'count');
  app.post(
    '/images',
    gate.requireFeature('image.generate', { quantity: imageCount }),
    (req, res) => {
      const prompt = String(req.body?.prompt ?? '');
      res.json({ images: Array.from({ length: imageCount(req) }, () => generateImage(prompt)) });
    },
  );

  app.get('/export/pdf', gate.requireFeature('export_pdf'), (_request, response) => {
    response.type('application/pdf').send(Buffer.from('%PDF-1.7\n%quillstone\n'));
  });

  // `sso` requires a seat: a user the account has not given one is denied `no_seat`.
  app.get('/sso', gate.requireFeature('sso'), (req, res) => {
    res.json({ user: req.tollgate!.user, sso: true });
  });

  // `max_projects` is a config limit: the app asks whether it may reach this many projects.
  const projectCount = (request: express.Request): number =>
    parseQuantity(request.body?.project_count, 'project_count');
  app.post(
    '/projects',
    gate.requireFeature('max_projects', { quantity: projectCount }),
    (req, res) => {
      res.status(201).json({ project_count: projectCount(req) });
    },
  );

  // Token-metered completion: the request names its token count, which is what it costs.
  const tokens = (request: express.Request): number =>
    parseQuantity(request.body?.tokens, 'tokens');
  app.post('/complete', gate.requireFeature('api_tokens', { quantity: tokens }), (req, res) => {
    res.json({ tokens: tokens(req), text: complete('tokens', String(req.body?.prompt ?? '')) });
  });

  app.post('/v1/chat/completions', ...chatCompletions(tollgate));
  app.use(gate.errorHandler());
  return app;
}

/**
 * The OpenAI-compatible route: holds the prompt plus `max_tokens` of `chat.<model>`
 * credits, and settles the tokens the reply used — for a stream, when its last event is
 * written. Its own gate answers denials with the `error` member OpenAI clients read.
 */
function chatCompletions(tollgate: Tollgate): RequestHandler[] {
  const openAiGate = createExpressTollgate(tollgate, { denialBody: openAiDenial });
  const hold = openAiGate.reserve(
    (req) => chatFeature(req.body),
    (req) => estimateTokens(req.body),
  );
  const handler: RequestHandler = async (req, res) => {
    const chat = parseChatRequest(req.body);
    if (!chat.stream) {
      const reply = chatCompletion(chat);
      req.tollgate!.setActual(reply.usage.total_tokens);
      res.json(reply);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for await (const event of chatCompletionEvents(chat, (n) => req.tollgate!.setActual(n))) {
      if (res.destroyed) return;
      res.write(event);
    }
    res.end();
  };
  return [hold, handler];
}
