/**
 * `@tollgate/runtime/http`: the framework-neutral pieces the Express, Koa and NestJS
 * adapters share. Applications use an adapter; this is for writing one.
 */
export { HttpGate } from './http-gate.js';
export type { Admission, GuardSpec, HttpGateOptions } from './http-gate.js';
export { RequestTollgate } from './request-tollgate.js';
export type {
  RequestReserveOptions,
  RequestTollgateOptions,
  SettlementMessage,
} from './request-tollgate.js';
export { denialAnswer, denialProblem, errorAnswer, rateLimitHeaders } from './problem.js';
export type { DenialBody, DenialProblem, HttpAnswer } from './problem.js';
export {
  checkedQuantity,
  featureOf,
  idempotencyKeyOf,
  identityOf,
  quantityOf,
} from './request-inputs.js';
export type {
  FeatureSource,
  IdentitySource,
  QuantitySource,
  RequestReader,
} from './request-inputs.js';
