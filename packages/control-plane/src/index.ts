/**
 * The Tollgate control plane: customers, subscriptions, the credit ledger, usage
 * ingestion and snapshots, served over HTTP under `/v1`. See README.md for the glossary,
 * the routes and the error codes.
 */
export { createControlPlane, defaultDatabasePath } from './control-plane.js';
export type { ControlPlane, ControlPlaneOptions } from './control-plane.js';
export type { ApiKeyOptions, KeyRole } from './http/auth.js';
export type { Store, StoreTransaction } from './store/store.js';
