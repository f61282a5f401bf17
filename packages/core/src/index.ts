export { Reason, reasonNames, reasonName, httpStatusByReason } from './reasons.js';
export type { ReasonName } from './reasons.js';
export { FeatureKind, featureKindNames, featureKindFromName, LimitBehavior } from './features.js';
export type { FeatureKindName } from './features.js';
export type { Decision } from './decision.js';
export {
  TollgateError,
  InvalidQuantityError,
  InvalidIdentifierError,
  errorCatalog,
  isTollgateError,
  validationError,
} from './errors.js';
export type { ErrorCode, TollgateErrorOptions } from './errors.js';
export { identifierPattern, isIdentifier, assertIdentifier } from './identifiers.js';
export { parseQuantity, parsePositiveQuantity } from './quantity.js';
export { ManualClock, systemClock, toEpochMs } from './clock.js';
export type { Clock } from './clock.js';
