import { Module } from '@nestjs/common';
import type { DynamicModule, Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { TOLLGATE_OPTIONS } from './tollgate.constants.js';
import { TollgateExceptionFilter } from './tollgate-exception.filter.js';
import type {
  TollgateModuleAsyncOptions,
  TollgateModuleOptions,
} from './tollgate-options.interface.js';
import { TollgateRoutesExplorer } from './tollgate-routes.explorer.js';
import { TollgateGuard } from './tollgate.guard.js';
import { TollgateInterceptor } from './tollgate.interceptor.js';
import { TollgateService } from './tollgate.service.js';

/** What both `forRoot` and `forRootAsync` install besides the options. */
function providersOf(globalGuard: boolean | undefined): Provider[] {
  // The guard is also a plain provider, so routes can list it in `@UseGuards`.
  const guards: Provider[] = [TollgateGuard];
  if (globalGuard !== false) guards.push({ provide: APP_GUARD, useClass: TollgateGuard });
  return [
    TollgateService,
    TollgateRoutesExplorer,
    ...guards,
    { provide: APP_INTERCEPTOR, useClass: TollgateInterceptor },
    { provide: APP_FILTER, useClass: TollgateExceptionFilter },
  ];
}

/**
 * Installs Tollgate in a Nest application: a global guard and interceptor that act on
 * `@RequireFeature`, `@Meter` and `@Reserve`, the filter that writes denials as problem
 * documents, and `TollgateService` for injection. Global: import it once, at the root.
 *
 * @example
 * @Module({
 *   imports: [TollgateModule.forRoot({ runtime: tollgate, customer: { claim: 'sub' } })],
 *   controllers: [ChatController],
 * })
 * export class AppModule {}
 */
@Module({})
export class TollgateModule {
  static forRoot(options: TollgateModuleOptions): DynamicModule {
    return {
      module: TollgateModule,
      global: true,
      imports: [DiscoveryModule],
      providers: [
        { provide: TOLLGATE_OPTIONS, useValue: options },
        ...providersOf(options.globalGuard),
      ],
      exports: [TollgateService, TollgateGuard],
    };
  }

  /**
   * Like `forRoot`, with the options from a factory that may await and inject.
   *
   * @example
   * TollgateModule.forRootAsync({
   *   inject: [ConfigService],
   *   useFactory: async (config: ConfigService) => ({
   *     runtime: await createTollgate({ controlPlaneUrl: config.get('TOLLGATE_URL'), apiKey }),
   *   }),
   * });
   */
  static forRootAsync(options: TollgateModuleAsyncOptions): DynamicModule {
    return {
      module: TollgateModule,
      global: true,
      imports: [DiscoveryModule, ...(options.imports ?? [])],
      providers: [
        { provide: TOLLGATE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        ...providersOf(options.globalGuard),
      ],
      exports: [TollgateService, TollgateGuard],
    };
  }
}
