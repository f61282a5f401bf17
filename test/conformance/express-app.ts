import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express from 'express';
import { parseQuantity } from '@tollgate/core';
import { createExpressTollgate } from '../../adapters/express/src/index.js';
import type { ExpressTollgateOptions } from '../../adapters/express/src/index.js';
import { contextQuantity, failQuantity, queryNumber, reserveEstimate } from './routes.js';
import { brokenQuantity, failingLines, invalidPrompt } from './routes.js';
import { streamEstimate, tokenLines } from './routes.js';
import type { AppOptions, RunningApp } from './routes.js';

/** The conformance routes (see routes.ts) on Express 5. */
export async function startExpressApp(options: AppOptions): Promise<RunningApp> {
  const gate = createExpressTollgate(options.runtime, options.gate as ExpressTollgateOptions);
  const app = express();
  app.use(express.json());
  app.use((req, _res, next) => {
    const subject = req.get('x-verified-sub');
    if (subject !== undefined) (req as { auth?: unknown }).auth = { sub: subject };
    next();
  });

  app.get('/api', gate.requireFeature('api_calls'), (req, res) => {
    res.json({ remaining: req.tollgate!.decision!.remaining });
  });
  app.get('/export', gate.requireFeature('export_pdf'), (_req, res) => void res.json({ ok: true }));
  const unknown = gate.requireFeature(() => 'no_such_feature');
  app.get('/unknown', unknown, (_req, res) => void res.json({ ok: true }));
  const count = (req: express.Request): number => parseQuantity(req.body?.count, 'count');
  app.post('/images', gate.meter('image_generate', count), (req, res) => {
    res.json({ count: count(req) });
  });
  app.post('/reserve', gate.reserve('chat_message', reserveEstimate), (req, res) => {
    const actual = queryNumber(req.url, 'actual');
    if (actual !== undefined) req.tollgate!.setActual(actual);
    res.json({ ok: true });
  });
  const fromLocals = (_req: express.Request, res: express.Response): number => res.locals.tokens;
  app.post(
    '/reserve-result',
    gate.reserve('chat_message', reserveEstimate, fromLocals),
    (req, res) => {
      res.locals.tokens = req.body.tokens;
      res.json({ tokens: req.body.tokens });
    },
  );
  app.get('/stream', gate.reserve('chat_message', streamEstimate), async (req, res, next) => {
    const hang = queryNumber(req.url, 'hang') === 1 ? { started: options.handlerStarted } : null;
    const tokens = queryNumber(req.url, 'tokens') ?? 0;
    res.type('text/plain');
    const lines = tokenLines(tokens, (n) => req.tollgate!.setActual(n), hang);
    await pipeline(Readable.from(lines), res).catch(next);
  });

  app.get('/stream-fail', gate.reserve('chat_message', streamEstimate), async (_req, res, next) => {
    res.type('text/plain');
    await pipeline(Readable.from(failingLines()), res).catch(next);
  });
  app.get('/seat', gate.requireFeature('sso_login'), (_req, res) => void res.json({ ok: true }));

  const five = gate.requireFeature('chat_message', { quantity: failQuantity });
  app.get('/fail/throw', five, () => {
    throw new Error('the model failed');
  });
  app.get('/fail/status', five, (_req, res) => void res.status(502).json({ failed: true }));
  app.get('/fail/client', five, (_req, res) => void res.status(422).json({ invalid: true }));
  app.get('/fail/invalid', five, () => invalidPrompt());
  app.get('/hang', five, () => options.handlerStarted());
  app.get(
    '/broken/:as',
    gate.meter('image_generate', (req) => brokenQuantity(req.params.as)),
    (_req, res) => void res.json({}),
  );
  app.get('/context', gate.middleware(), (req, res) => {
    const decision = req.tollgate!.consume('chat_message', contextQuantity);
    res.status(decision.allowed ? 200 : 402).json({ remaining: decision.remaining });
  });
  app.use(gate.errorHandler());

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
