export { createKoaTollgate, settlementChannelName } from './gate.js';
export type { ActualSource, CustomerSource, KoaTollgate, KoaTollgateOptions } from './gate.js';
export type { TollgateState } from './context.js';
export type { FeatureSource, QuantitySource, SettlementMessage } from '@tollgate/runtime';
