import { entitlementsSuite } from './entitlements.suite.js';
import { historySuite } from './history.suite.js';
import { lifecycleSuite } from './lifecycle.suite.js';

// Entitlement resolution, seats, explain and the subscription lifecycle on PostgreSQL
// (127.0.0.1:5432, a fresh schema per harness).
entitlementsSuite('postgres');
lifecycleSuite('postgres');
historySuite('postgres');
