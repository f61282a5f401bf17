export { createExpressTollgate } from './gate.js';
export type {
  ActualSource,
  CustomerSource,
  ExpressTollgate,
  ExpressTollgateOptions,
  FeatureSource,
  QuantitySource,
  RequireFeatureOptions,
} from './gate.js';
export type { TollgateRequestContext } from './request-context.js';
export { denialProblem } from '@tollgate/runtime';
export type { DenialProblem, SettlementMessage } from '@tollgate/runtime';
export { settlementChannelName } from './settlement.js';
