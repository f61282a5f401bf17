import 'reflect-metadata';
import { Controller, Get } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Meter, RequireFeature } from '../../adapters/nestjs/src/index.js';
import { startHarness } from '../../packages/runtime/test/helpers/harness.js';
import type { Harness } from '../../packages/runtime/test/helpers/harness.js';
import { applicationModule } from './nest-app.js';

/**
 * Startup checks only the Nest adapter can make, because its decorators name their
 * handler (the conformance suite says why Express and Koa skip them).
 */
const lacks = 'names a feature the catalog lacks';

describe('TollgateModule at startup', () => {
  let harness: Harness;

  beforeEach(async () => {
    harness = await startHarness();
  });

  afterEach(async () => {
    await harness.stop();
  });

  async function boot(controller: new () => object): Promise<unknown> {
    const module = applicationModule({ runtime: harness.tollgate }, [controller]);
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

  it('names the handler when a decorator names an unknown feature', async () => {
    @Controller()
    class ReportsController {
      @Get('reports')
      @RequireFeature('export_pdff')
      reports(): object {
        return {};
      }
    }
    const error = await boot(ReportsController);
    expect(error).toMatchObject({
      code: 'TOLLGATE_ERR_UNKNOWN_FEATURE',
      message: `ReportsController.reports: @RequireFeature('export_pdff') ${lacks}`,
    });
  });

  it('fails with an error naming the handler when a constant quantity is not one', async () => {
    @Controller()
    class ImagesController {
      @Get('images')
      @Meter('image_generate', -2)
      images(): object {
        return {};
      }
    }
    const error = await boot(ImagesController);
    expect(error).toMatchObject({
      code: 'TOLLGATE_ERR_INVALID_QUANTITY',
      field: 'ImagesController.images quantity',
    });
  });

  it('starts when every decorator names a known feature', async () => {
    @Controller()
    class ExportController {
      @Get('export')
      @RequireFeature('export_pdf')
      exportPdf(): object {
        return {};
      }
    }
    expect(await boot(ExportController)).toBeNull();
  });
});
