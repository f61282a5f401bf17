export { loadCatalogFile, parseCatalog } from './load.js';
export { displayAmount } from './display-amount.js';
export { formatPath } from './paths.js';
export { addMonths, periodAt, periodBoundary } from './periods.js';
export type { Period, ScheduleOptions } from './periods.js';
export { instantOf, isTimeZone, wallTimeAt } from './zoned-time.js';
export type { WallTime } from './zoned-time.js';
export * from './resolve/index.js';
export type * from './types.js';
