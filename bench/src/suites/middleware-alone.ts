import { EventEmitter } from 'node:events';
import type { Request, RequestHandler, Response } from 'express';
import { createExpressTollgate } from '@tollgate/express';
import { createTollgate } from '@tollgate/runtime';
import { NOW_MS } from '../fixtures/fixture.js';
import { snapshotFile } from '../fixtures/files.js';
import { GUARDED_FEATURE } from '../servers/apps.js';
import { startStandIn } from '../servers/stand-in.js';
import { sink, timeLoops } from '../lib/measure.js';
import type { ResultRow } from '../lib/results.js';

const LOOP = 1024;

/** The least a Node response offers the guard: events, a status, headers, `writableFinished`. */
class MinimalResponse extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  writableFinished = false;
  setHeader(): this {
    return this;
  }
}

/**
 * Express's guard as a function, in process, on minimal requests: hold, `next()`, then
 * the response's `finish` and `close` that settle the hold. The same loop with a no-op
 * middleware is timed beside it and subtracted, leaving the guard's own cost.
 */
export async function timeMiddlewareAlone(timeMs: number) {
  const standIn = await startStandIn(snapshotFile(10_000));
  const tollgate = await createTollgate({
    controlPlaneUrl: standIn.url,
    apiKey: 'bench',
    clock: () => NOW_MS,
    refreshIntervalMs: 0,
  });
  try {
    const guard = createExpressTollgate(tollgate).requireFeature(GUARDED_FEATURE);
    const noop: RequestHandler = (_req, _res, next) => next();
    let nexts = 0;
    const next = () => void (nexts += 1);
    const headers: Record<string, string> = { 'tollgate-customer': 'cus_0000042' };
    const request = () =>
      ({ get: (name: string) => headers[name.toLowerCase()] }) as unknown as Request;
    const once = (middleware: RequestHandler) => {
      const res = new MinimalResponse();
      middleware(request(), res as unknown as Response, next);
      res.writableFinished = true;
      res.emit('finish');
      res.emit('close');
    };

    // The answer first: the guard lets the request through and the hold is settled.
    once(guard);
    if (nexts !== 1) throw new Error('the guard did not call next() for an allowed customer');
    const loop = (middleware: RequestHandler) => () => {
      for (let index = 0; index < LOOP; index++) once(middleware);
      sink.value += nexts;
    };
    const timings = await timeLoops(
      [
        { name: 'guard', operations: LOOP, run: loop(guard) },
        { name: 'noop', operations: LOOP, run: loop(noop) },
      ],
      timeMs,
    );
    const guardNs = timings.get('guard')!.nsMedian;
    const noopNs = timings.get('noop')!.nsMedian;
    const caseName = 'Express guard alone, in process, per request';
    const rows: ResultRow[] = [
      { case: caseName, subject: 'no-op middleware + minimal req/res', value: noopNs, unit: 'ns' },
      { case: caseName, subject: 'requireFeature + minimal req/res', value: guardNs, unit: 'ns' },
      {
        case: caseName,
        subject: 'requireFeature, net of the no-op',
        value: guardNs - noopNs,
        unit: 'ns',
      },
    ];
    return { rows, netNs: guardNs - noopNs };
  } finally {
    await tollgate.close();
    await standIn.close();
  }
}
