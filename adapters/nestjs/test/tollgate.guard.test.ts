import 'reflect-metadata';
import { Controller, Get, Injectable, UseGuards } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness } from '../../../packages/runtime/test/helpers/harness.js';
import type { Harness } from '../../../packages/runtime/test/helpers/harness.js';
import { RequireFeature, TollgateGuard, TollgateModule } from '../src/index.js';
import type { TollgateModuleOptions } from '../src/index.js';
import { Settlements, serveNest } from './nest-server.js';
import type { RunningNest } from './nest-server.js';

/** Stands for a route's JWT guard: puts the verified payload on `request.user`. */
@Injectable()
class VerifiedSubjectGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: object; user?: unknown }>();
    const subject = (request.headers as Record<string, string | undefined>)['x-verified-sub'];
    request.user = subject === undefined ? undefined : { sub: subject };
    return true;
  }
}

@Controller()
class GuardedController {
  @Get('authenticated')
  @UseGuards(VerifiedSubjectGuard, TollgateGuard)
  @RequireFeature('chat_message', { quantity: 5 })
  authenticated(): object {
    return { ok: true };
  }

  @Get('listed')
  @UseGuards(TollgateGuard)
  @RequireFeature('chat_message', { quantity: 5 })
  listed(): object {
    return { ok: true };
  }

  @Get('unlisted')
  @RequireFeature('chat_message', { quantity: 5 })
  unlisted(): object {
    return { ok: true };
  }
}

describe('TollgateGuard', () => {
  let harness: Harness;
  let app: RunningNest | undefined;
  let settlements: Settlements;

  beforeEach(async () => {
    harness = await startHarness();
    settlements = new Settlements();
  });

  afterEach(async () => {
    settlements.stop();
    await app?.close();
    await harness.stop();
  });

  async function start(options: Omit<TollgateModuleOptions, 'runtime'>): Promise<void> {
    const module = TollgateModule.forRoot({ runtime: harness.tollgate, ...options });
    app = await serveNest([module], [GuardedController]);
  }

  async function get(path: string, headers: Record<string, string>) {
    const response = await request(app!.url + path, { headers });
    return { status: response.statusCode, body: (await response.body.json()) as object };
  }

  const credits = (): number | null =>
    harness.tollgate.check('cus_pro', 'chat_message', 0).remaining;

  it('holds once when a route lists TollgateGuard under the global guard', async () => {
    await start({});
    const answer = await get('/listed', { 'tollgate-customer': 'cus_pro' });
    expect(answer).toEqual({ status: 200, body: { ok: true } });
    await settlements.reach(1);
    expect(settlements.outcomes()).toEqual([{ status: 200, charged: 5, outcome: 'settled' }]);
    expect(credits()).toBe(95);
    await harness.tollgate.flush();
    expect(harness.stub.total('cus_pro', 'chat_message')).toBe(5);
  });

  it('reads a claim set by a route guard listed before it when globalGuard is false', async () => {
    await start({ globalGuard: false, customer: { claim: 'sub' } });
    const answer = await get('/authenticated', { 'x-verified-sub': 'cus_pro' });
    expect(answer).toEqual({ status: 200, body: { ok: true } });
    await settlements.reach(1);
    expect(settlements.outcomes()).toEqual([{ status: 200, charged: 5, outcome: 'settled' }]);
    expect(credits()).toBe(95);
  });

  it('leaves a decorated route that lists no guard ungated when globalGuard is false', async () => {
    await start({ globalGuard: false, customer: { claim: 'sub' } });
    const answer = await get('/unlisted', { 'x-verified-sub': 'cus_pro' });
    expect(answer).toEqual({ status: 200, body: { ok: true } });
    expect(settlements.entries).toEqual([]);
    expect(credits()).toBe(100);
  });

  it('runs before route guards when global, so a claim they set is not there yet', async () => {
    await start({ customer: { claim: 'sub' } });
    const answer = await get('/authenticated', { 'x-verified-sub': 'cus_pro' });
    expect(answer).toEqual({
      status: 401,
      body: {
        code: 'TOLLGATE_ERR_MISSING_CUSTOMER',
        message: 'the request names no customer: the verified token has no sub claim',
      },
    });
    expect(credits()).toBe(100);
  });
});
