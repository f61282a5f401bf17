import { ledgerCasesSuite } from './ledger-cases.suite.js';

// The shared ledger suites on the embedded SQLite store.
ledgerCasesSuite('sqlite');
