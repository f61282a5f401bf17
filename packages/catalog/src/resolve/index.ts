export { resolveAccount, timeZoneOf, usagePeriodOf } from './resolve.js';
export { checkOverrideOverlap, overrideActive, overridesOverlap } from './overrides.js';
export { combine } from './combine.js';
export { checkOverrideRule, rulesFor } from './rules.js';
export { trialVersion } from './plan-source.js';
export type * from './state.js';
