import { ledgerAdjustmentsSuite } from './ledger-adjustments.suite.js';
import { ledgerCasesSuite } from './ledger-cases.suite.js';
import { ledgerConcurrencySuite } from './ledger-concurrency.suite.js';
import { ledgerGrantsSuite } from './ledger-grants.suite.js';
import { ledgerInputSuite } from './ledger-input.suite.js';
import { ledgerInvariantsSuite } from './ledger-invariants.suite.js';
import { ledgerLifecycleSuite } from './ledger-lifecycle.suite.js';
import { ledgerQuillstoneSuite } from './ledger-quillstone.suite.js';
import { ledgerRacesSuite } from './ledger-races.suite.js';
import { usageIngestSuite } from './usage-ingest.suite.js';

// The shared ledger suites on the embedded SQLite store.
ledgerCasesSuite('sqlite');
ledgerInvariantsSuite('sqlite');
ledgerAdjustmentsSuite('sqlite');
ledgerLifecycleSuite('sqlite');
ledgerGrantsSuite('sqlite');
ledgerInputSuite('sqlite');
ledgerConcurrencySuite('sqlite');
ledgerQuillstoneSuite('sqlite');
ledgerRacesSuite('sqlite');
usageIngestSuite('sqlite');
