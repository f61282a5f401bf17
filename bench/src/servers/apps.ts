import 'reflect-metadata';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import express from 'express';
import Koa from 'koa';
import type { Tollgate } from '@tollgate/runtime';
import { createExpressTollgate } from '@tollgate/express';
import { createKoaTollgate } from '@tollgate/koa';
import { RequireFeature, TollgateModule } from '@tollgate/nestjs';

/** The one feature every guarded route asks for: a boolean open to every customer. */
export const GUARDED_FEATURE = 'api_access';
export const frameworks = ['express', 'koa', 'nestjs'] as const;
export type Framework = (typeof frameworks)[number];

export interface RunningApp {
  port: number;
  close(): Promise<void>;
}

/**
 * A hello-world `GET /hello` on each framework, bare or behind Tollgate's guard. Resolves
 * null when a framework has no guard to put in front of it (none, since issue 6 landed).
 */
export async function startApp(
  framework: Framework,
  tollgate: Tollgate | null,
): Promise<RunningApp | null> {
  if (framework === 'express') return listen(expressApp(tollgate));
  if (framework === 'koa') {
    const guard =
      tollgate === null ? undefined : createKoaTollgate(tollgate).requireFeature(GUARDED_FEATURE);
    return listen(koaApp(guard).callback());
  }
  return nestApp(tollgate);
}

function expressApp(tollgate: Tollgate | null) {
  const app = express();
  app.set('etag', false);
  const hello = (_req: express.Request, res: express.Response) => void res.send('hello');
  if (tollgate === null) app.get('/hello', hello);
  else app.get('/hello', createExpressTollgate(tollgate).requireFeature(GUARDED_FEATURE), hello);
  return app;
}

function koaApp(guard: Koa.Middleware | undefined) {
  const app = new Koa();
  if (guard !== undefined) app.use(guard);
  app.use((context) => {
    if (context.path === '/hello') context.body = 'hello';
  });
  return app;
}

@Controller()
class HelloController {
  @Get('hello')
  hello(): string {
    return 'hello';
  }
}

@Controller()
class GuardedHelloController {
  @Get('hello')
  @RequireFeature(GUARDED_FEATURE)
  hello(): string {
    return 'hello';
  }
}

/** NestJS on its default Express platform; guarded through `TollgateModule`'s global guard. */
async function nestApp(tollgate: Tollgate | null): Promise<RunningApp | null> {
  const root =
    tollgate === null
      ? { module: class BareModule {}, controllers: [HelloController] }
      : {
          module: class GuardedModule {},
          imports: [TollgateModule.forRoot({ runtime: tollgate })],
          controllers: [GuardedHelloController],
        };
  const app = await NestFactory.create(root, { logger: false });
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  return { port: (server.address() as AddressInfo).port, close: () => app.close() };
}

async function listen(
  handler: express.Express | Parameters<typeof import('node:http').createServer>[1],
) {
  const { createServer } = await import('node:http');
  const server = createServer(handler as never);
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
