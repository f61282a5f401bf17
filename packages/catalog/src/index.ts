export { loadCatalogFile, parseCatalog } from './load.js';
export { formatPath } from './paths.js';
export { addMonths, periodAt, periodBoundary } from './periods.js';
export type { Period } from './periods.js';
export type * from './types.js';
