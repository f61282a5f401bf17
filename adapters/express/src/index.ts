export { createExpressTollgate } from './gate.js';
export type { ExpressTollgate, ExpressTollgateOptions, RequireFeatureOptions } from './gate.js';
export type { TollgateRequestContext } from './request-context.js';
export type { CustomerSource, QuantitySource } from './request-inputs.js';
export { denialProblem } from './problem.js';
export type { DenialProblem } from './problem.js';
export { settlementChannelName } from './settlement.js';
