import 'reflect-metadata';

export { TollgateModule } from './tollgate.module.js';
export { TollgateService } from './tollgate.service.js';
export { TollgateGuard } from './tollgate.guard.js';
export { TollgateInterceptor } from './tollgate.interceptor.js';
export { TollgateExceptionFilter } from './tollgate-exception.filter.js';
export { TollgateHttpException } from './tollgate.exception.js';
export { RequireFeature, Meter, Reserve } from './require-feature.decorator.js';
export { TollgateContext, TollgateDecision } from './tollgate-context.decorator.js';
export { settlementChannelName } from './tollgate.constants.js';
export type {
  ActualFromResult,
  NestHttpRequest,
  TollgateModuleAsyncOptions,
  TollgateModuleOptions,
} from './tollgate-options.interface.js';
export type { RequestTollgate, SettlementMessage } from '@tollgate/runtime';
