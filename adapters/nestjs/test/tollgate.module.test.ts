import 'reflect-metadata';
import { Controller, Get, Inject, Module } from '@nestjs/common';
import type { Tollgate } from '@tollgate/runtime';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness } from '../../../packages/runtime/test/helpers/harness.js';
import type { Harness } from '../../../packages/runtime/test/helpers/harness.js';
import { RequireFeature, TollgateModule, TollgateService } from '../src/index.js';
import { Settlements, serveNest } from './nest-server.js';
import type { RunningNest } from './nest-server.js';

const RUNTIME = Symbol('runtime');
const TENANT_HEADER = Symbol('tenant header');

@Controller()
class ExportController {
  constructor(@Inject(TollgateService) private readonly tollgate: TollgateService) {}

  @Get('export')
  @RequireFeature('chat_message', { quantity: 4 })
  exportPdf(): object {
    return { snapshotVersion: this.tollgate.runtime.snapshotVersion };
  }
}

describe('TollgateModule.forRootAsync', () => {
  let harness: Harness;
  let app: RunningNest;
  let settlements: Settlements;
  let factoryArguments: unknown[];

  beforeEach(async () => {
    harness = await startHarness();
    settlements = new Settlements();
    factoryArguments = [];
    // Stands for the application's configuration module: what the factory injects.
    @Module({
      providers: [
        { provide: RUNTIME, useValue: harness.tollgate },
        { provide: TENANT_HEADER, useValue: 'x-tenant' },
      ],
      exports: [RUNTIME, TENANT_HEADER],
    })
    class ConfigModule {}
    const tollgateModule = TollgateModule.forRootAsync({
      imports: [ConfigModule],
      inject: [RUNTIME, TENANT_HEADER],
      useFactory: async (runtime: Tollgate, header: string) => {
        factoryArguments.push(runtime, header);
        await Promise.resolve();
        return { runtime, customer: header };
      },
    });
    app = await serveNest([tollgateModule], [ExportController]);
  });

  afterEach(async () => {
    settlements.stop();
    await app.close();
    await harness.stop();
  });

  it('builds the options with the injected providers and gates routes with them', async () => {
    expect(factoryArguments).toEqual([harness.tollgate, 'x-tenant']);
    const response = await request(`${app.url}/export`, { headers: { 'x-tenant': 'cus_pro' } });
    expect(response.statusCode).toBe(200);
    expect(await response.body.json()).toEqual({ snapshotVersion: 1 });
    await settlements.reach(1);
    expect(settlements.outcomes()).toEqual([{ status: 200, charged: 4, outcome: 'settled' }]);
    expect(harness.tollgate.check('cus_pro', 'chat_message', 0).remaining).toBe(96);
  });

  it('reads the customer where the factory said, not from the default header', async () => {
    const response = await request(`${app.url}/export`, {
      headers: { 'tollgate-customer': 'cus_pro' },
    });
    expect(response.statusCode).toBe(401);
    expect(await response.body.json()).toEqual({
      code: 'TOLLGATE_ERR_MISSING_CUSTOMER',
      message: 'the request names no customer: send the x-tenant header',
    });
    expect(harness.tollgate.check('cus_pro', 'chat_message', 0).remaining).toBe(100);
  });
});
