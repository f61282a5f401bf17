import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import type { Context } from 'koa';
import { parseQuantity } from '@tollgate/core';
import { createKoaTollgate } from '../../adapters/koa/src/index.js';
import type { KoaTollgateOptions } from '../../adapters/koa/src/index.js';
import { contextQuantity, failQuantity, queryNumber, reserveEstimate } from './routes.js';
import { brokenQuantity, failingLines, invalidPrompt } from './routes.js';
import { streamEstimate, tokenLines } from './routes.js';
import type { AppOptions, RunningApp } from './routes.js';

/** The conformance routes (see routes.ts) on Koa 3 with @koa/router. */
export async function startKoaApp(options: AppOptions): Promise<RunningApp> {
  const gate = createKoaTollgate(options.runtime, options.gate as KoaTollgateOptions);
  const app = new Koa();
  // Koa prints every error to stderr by default; the failing routes are expected to fail.
  app.silent = true;
  const router = new Router();
  app.use(bodyParser());
  app.use(async (ctx, next) => {
    const subject = ctx.get('x-verified-sub');
    if (subject !== '') ctx.state.user = { sub: subject };
    await next();
  });

  router.get('/api', gate.requireFeature('api_calls'), (ctx) => {
    ctx.body = { remaining: ctx.state.tollgate!.decision!.remaining };
  });
  router.get('/export', gate.requireFeature('export_pdf'), (ctx) => {
    ctx.body = { ok: true };
  });
  router.get(
    '/unknown',
    gate.requireFeature(() => 'no_such_feature'),
    (ctx) => {
      ctx.body = { ok: true };
    },
  );
  const count = (ctx: Context): number =>
    parseQuantity((ctx.request.body as { count?: unknown }).count, 'count');
  router.post('/images', gate.meter('image_generate', count), (ctx) => {
    ctx.body = { count: count(ctx) };
  });
  router.post('/reserve', gate.reserve('chat_message', reserveEstimate), (ctx) => {
    const actual = queryNumber(ctx.url, 'actual');
    if (actual !== undefined) ctx.state.tollgate!.setActual(actual);
    ctx.body = { ok: true };
  });
  const fromState = (ctx: Context): number => ctx.state.tokens as number;
  router.post(
    '/reserve-result',
    gate.reserve('chat_message', reserveEstimate, fromState),
    (ctx) => {
      const { tokens } = ctx.request.body as { tokens: number };
      ctx.state.tokens = tokens;
      ctx.body = { tokens };
    },
  );
  router.get('/stream', gate.reserve('chat_message', streamEstimate), (ctx) => {
    const hang = queryNumber(ctx.url, 'hang') === 1 ? { started: options.handlerStarted } : null;
    const tokens = queryNumber(ctx.url, 'tokens') ?? 0;
    const lines = tokenLines(tokens, (n) => ctx.state.tollgate!.setActual(n), hang);
    ctx.type = 'text/plain';
    ctx.body = Readable.from(lines);
  });

  router.get('/stream-fail', gate.reserve('chat_message', streamEstimate), (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = Readable.from(failingLines());
  });
  router.get('/seat', gate.requireFeature('sso_login'), (ctx) => {
    ctx.body = { ok: true };
  });

  const five = gate.requireFeature('chat_message', { quantity: failQuantity });
  router.get('/fail/throw', five, () => {
    throw new Error('the model failed');
  });
  router.get('/fail/status', five, (ctx) => {
    ctx.status = 502;
    ctx.body = { failed: true };
  });
  router.get('/fail/client', five, (ctx) => {
    ctx.status = 422;
    ctx.body = { invalid: true };
  });
  router.get('/hang', five, () => {
    options.handlerStarted();
    return new Promise<never>(() => undefined);
  });
  router.get('/fail/invalid', five, () => invalidPrompt());
  router.get(
    '/broken/:as',
    gate.meter('image_generate', (ctx) => brokenQuantity(ctx.params.as)),
    (ctx) => {
      ctx.body = {};
    },
  );
  router.get('/context', gate.middleware(), (ctx) => {
    const decision = ctx.state.tollgate!.consume('chat_message', contextQuantity);
    ctx.status = decision.allowed ? 200 : 402;
    ctx.body = { remaining: decision.remaining };
  });
  app.use(router.routes());

  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
