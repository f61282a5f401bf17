import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Readable } from 'node:stream';
import { Body, Controller, Get, HttpCode, Module, Post, Query, Res } from '@nestjs/common';
import { StreamableFile } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { parseQuantity } from '@tollgate/core';
import type { Decision } from '@tollgate/core';
import type { RequestTollgate } from '@tollgate/runtime';
import { of } from 'rxjs';
import type { Observable } from 'rxjs';
import {
  Meter,
  RequireFeature,
  Reserve,
  TollgateContext,
  TollgateDecision,
  TollgateModule,
} from '../../adapters/nestjs/src/index.js';
import type { TollgateModuleOptions } from '../../adapters/nestjs/src/index.js';
import { contextQuantity, failQuantity, reserveEstimate, streamEstimate } from './routes.js';
import { brokenQuantity, failingLines, invalidPrompt, tokenLines } from './routes.js';
import type { AppOptions, RunningApp } from './routes.js';

interface NodeResponse {
  status(code: number): NodeResponse;
}

/** The conformance routes (see routes.ts) as a Nest controller. */
function conformanceController(handlerStarted: () => void): new () => object {
  const count = (request: { body?: { count?: unknown } }): number =>
    parseQuantity(request.body?.count, 'count');

  @Controller()
  class ConformanceController {
    @Get('api')
    @RequireFeature('api_calls')
    api(@TollgateDecision() decision: Decision): object {
      return { remaining: decision.remaining };
    }

    @Get('export')
    @RequireFeature('export_pdf')
    exportPdf(): object {
      return { ok: true };
    }

    @Get('unknown')
    @RequireFeature(() => 'no_such_feature')
    unknown(): object {
      return { ok: true };
    }

    // Nest answers a POST with 201 by default; the suite expects the other adapters' 200.
    @Post('images')
    @HttpCode(200)
    @Meter('image_generate', count)
    images(@Body() body: { count: number }): object {
      return { count: body.count };
    }

    @Post('reserve')
    @Reserve('chat_message', reserveEstimate)
    reserve(@Query('actual') actual: string | undefined, @TollgateContext() tg: RequestTollgate) {
      if (actual !== undefined) tg.setActual(Number(actual));
      return { ok: true };
    }

    // An Observable result: the interceptor reads the quantity from the value it emits.
    @Post('reserve-result')
    @Reserve('chat_message', reserveEstimate, (result) => (result as { tokens: number }).tokens)
    reserveResult(@Body() body: { tokens: number }): Observable<object> {
      return of({ tokens: body.tokens });
    }

    @Get('stream')
    @Reserve('chat_message', streamEstimate)
    stream(
      @Query('tokens') tokens: string | undefined,
      @Query('hang') hang: string | undefined,
      @TollgateContext() tg: RequestTollgate,
    ): StreamableFile {
      const hanging = hang === '1' ? { started: handlerStarted } : null;
      const lines = tokenLines(Number(tokens ?? 0), (n) => tg.setActual(n), hanging);
      return new StreamableFile(Readable.from(lines), { type: 'text/plain' });
    }

    @Get('stream-fail')
    @Reserve('chat_message', streamEstimate)
    streamFail(): StreamableFile {
      return new StreamableFile(Readable.from(failingLines()), { type: 'text/plain' });
    }

    @Get('seat')
    @RequireFeature('sso_login')
    seat(): object {
      return { ok: true };
    }

    @Get('fail/throw')
    @RequireFeature('chat_message', { quantity: failQuantity })
    failThrow(): never {
      throw new Error('the model failed');
    }

    @Get('fail/status')
    @RequireFeature('chat_message', { quantity: failQuantity })
    failStatus(@Res({ passthrough: true }) response: NodeResponse): object {
      response.status(502);
      return { failed: true };
    }

    @Get('fail/client')
    @RequireFeature('chat_message', { quantity: failQuantity })
    failClient(@Res({ passthrough: true }) response: NodeResponse): object {
      response.status(422);
      return { invalid: true };
    }

    @Get('fail/invalid')
    @RequireFeature('chat_message', { quantity: failQuantity })
    failInvalid(): never {
      return invalidPrompt();
    }

    @Get('hang')
    @RequireFeature('chat_message', { quantity: failQuantity })
    hang(): Promise<never> {
      handlerStarted();
      return new Promise<never>(() => undefined);
    }

    @Get('broken/:as')
    @Meter('image_generate', (request) => brokenQuantity(request.params.as))
    broken(): object {
      return {};
    }

    @Get('context')
    context(
      @TollgateContext() tg: RequestTollgate,
      @Res({ passthrough: true }) response: NodeResponse,
    ): object {
      const decision = tg.consume('chat_message', contextQuantity);
      response.status(decision.allowed ? 200 : 402);
      return { remaining: decision.remaining };
    }
  }
  return ConformanceController;
}

/** An application module for the given options and controllers. */
export function applicationModule(
  options: TollgateModuleOptions,
  controllers: Array<new () => object>,
): DynamicModule {
  @Module({})
  class ConformanceModule {}
  return { module: ConformanceModule, imports: [TollgateModule.forRoot(options)], controllers };
}

/** The conformance routes on NestJS 12 with the Express platform. */
export async function startNestApp(options: AppOptions): Promise<RunningApp> {
  const module = applicationModule({ runtime: options.runtime, ...(options.gate as object) }, [
    conformanceController(options.handlerStarted),
  ]);
  const app = await NestFactory.create(module, { logger: false });
  app.use(
    (
      request: { headers: Record<string, unknown>; user?: unknown },
      _r: unknown,
      next: () => void,
    ) => {
      const subject = request.headers['x-verified-sub'];
      if (typeof subject === 'string') request.user = { sub: subject };
      next();
    },
  );
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await app.close();
    },
  };
}

/** Boots an app whose only route names a feature the catalog lacks; returns what init threw. */
export async function bootWithUnknownFeature(runtime: AppOptions['runtime']): Promise<unknown> {
  @Controller()
  class ReportsController {
    @Get('reports')
    @RequireFeature('no_such_feature')
    reports(): object {
      return {};
    }
  }
  const module = applicationModule({ runtime }, [ReportsController]);
  const app = await NestFactory.create(module, { logger: false, abortOnError: false });
  try {
    await app.init();
    return null;
  } catch (error) {
    return error;
  } finally {
    await app.close();
  }
}
