import 'reflect-metadata';
import { BadRequestException, Controller, Get, Sse } from '@nestjs/common';
import { concat, interval, map, mergeMap, of, take, throwError, timer } from 'rxjs';
import type { Observable } from 'rxjs';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness } from '../../../packages/runtime/test/helpers/harness.js';
import type { Harness } from '../../../packages/runtime/test/helpers/harness.js';
import { Reserve, TollgateModule } from '../src/index.js';
import { Settlements, serveNest } from './nest-server.js';
import type { RunningNest } from './nest-server.js';

interface TokenEvent {
  data: { n: number };
}

const estimate = 20;

/** Handlers whose results arrive over time: SSE streams and delayed Observables. */
@Controller()
class StreamsController {
  // Each event reports the tokens so far; `actual` keeps the last, settled at completion.
  @Sse('events')
  @Reserve<unknown, TokenEvent>('chat_message', estimate, (event) => event.data.n)
  events(): Observable<TokenEvent> {
    return interval(20).pipe(
      take(3),
      map((index) => ({ data: { n: index + 1 } })),
    );
  }

  @Sse('events-fail')
  @Reserve('chat_message', estimate)
  eventsFail(): Observable<TokenEvent> {
    const failure = timer(20).pipe(mergeMap(() => throwError(() => new Error('model failed'))));
    return concat(of({ data: { n: 1 } }), failure);
  }

  @Get('later')
  @Reserve<unknown, { tokens: number }>('chat_message', estimate, (reply) => reply.tokens)
  later(): Observable<{ tokens: number }> {
    return timer(10).pipe(map(() => ({ tokens: 7 })));
  }

  @Get('later-fail')
  @Reserve('chat_message', estimate)
  laterFail(): Observable<never> {
    return timer(10).pipe(mergeMap(() => throwError(() => new Error('model failed'))));
  }

  @Get('bad-request')
  @Reserve('chat_message', estimate)
  badRequest(): never {
    throw new BadRequestException('the prompt is missing');
  }
}

describe('TollgateInterceptor', () => {
  let harness: Harness;
  let app: RunningNest;
  let settlements: Settlements;

  beforeEach(async () => {
    harness = await startHarness();
    settlements = new Settlements();
    app = await serveNest(
      [TollgateModule.forRoot({ runtime: harness.tollgate })],
      [StreamsController],
    );
  });

  afterEach(async () => {
    settlements.stop();
    await app.close();
    await harness.stop();
  });

  const credits = (): number | null =>
    harness.tollgate.check('cus_pro', 'chat_message', 0).remaining;
  const get = (path: string) =>
    request(app.url + path, { headers: { 'tollgate-customer': 'cus_pro' } });

  it('settles an @Sse stream at completion with the quantity its last event reported', async () => {
    const response = await get('/events');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream');
    const chunks: string[] = [];
    for await (const chunk of response.body) {
      chunks.push(String(chunk));
      // While events are still coming the estimate is held, and nothing is settled.
      if (chunks.length === 1) {
        expect(credits()).toBe(100 - estimate);
        expect(settlements.entries).toEqual([]);
      }
    }
    expect(chunks.join('')).toBe(
      '\nid: 1\ndata: {"n":1}\n\nid: 2\ndata: {"n":2}\n\nid: 3\ndata: {"n":3}\n\n',
    );
    await settlements.reach(1);
    expect(settlements.outcomes()).toEqual([{ status: 200, charged: 3, outcome: 'settled' }]);
    expect(credits()).toBe(97);
    await harness.tollgate.flush();
    expect(harness.stub.total('cus_pro', 'chat_message')).toBe(3);
  });

  it('releases the hold of an @Sse stream whose Observable errors', async () => {
    const response = await get('/events-fail');
    expect(response.statusCode).toBe(200);
    const text = await response.body.text();
    // Nest reports the error as an SSE `error` event after the one that got through.
    expect(text).toBe(
      '\nid: 1\ndata: {"n":1}\n\nevent: error\nid: 2\ndata: Internal server error\n\n',
    );
    await settlements.reach(1);
    expect(settlements.outcomes()).toEqual([{ status: 200, charged: 0, outcome: 'released' }]);
    expect(credits()).toBe(100);
  });

  it('settles the value a delayed Observable emits', async () => {
    const response = await get('/later');
    expect(response.statusCode).toBe(200);
    expect(await response.body.json()).toEqual({ tokens: 7 });
    await settlements.reach(1);
    expect(settlements.outcomes()).toEqual([{ status: 200, charged: 7, outcome: 'settled' }]);
    expect(credits()).toBe(93);
  });

  it('releases the hold when a delayed Observable errors', async () => {
    const response = await get('/later-fail');
    expect(response.statusCode).toBe(500);
    await response.body.text();
    await settlements.reach(1);
    expect(settlements.outcomes()).toEqual([{ status: 500, charged: 0, outcome: 'released' }]);
    expect(credits()).toBe(100);
  });

  it('releases the hold of a thrown 4xx HttpException by default', async () => {
    const response = await get('/bad-request');
    expect(response.statusCode).toBe(400);
    expect(await response.body.json()).toEqual({
      message: 'the prompt is missing',
      error: 'Bad Request',
      statusCode: 400,
    });
    await settlements.reach(1);
    expect(settlements.outcomes()).toEqual([{ status: 400, charged: 0, outcome: 'released' }]);
    expect(credits()).toBe(100);
  });
});
