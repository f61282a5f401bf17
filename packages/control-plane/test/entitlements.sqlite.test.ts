import { entitlementsSuite } from './entitlements.suite.js';
import { historySuite } from './history.suite.js';
import { lifecycleSuite } from './lifecycle.suite.js';

// Entitlement resolution, seats, explain and the subscription lifecycle on the embedded
// SQLite store.
entitlementsSuite('sqlite');
lifecycleSuite('sqlite');
historySuite('sqlite');
