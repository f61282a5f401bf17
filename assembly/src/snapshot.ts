// The active snapshot, and the structural checks that must pass before a staged one may
// become active. The host verifies the checksum first (zlib is faster than Wasm at it);
// these checks make every later read in bounds whatever bytes were handed over.

import { AMOUNT_MAX } from './arithmetic';
import * as L from './layout';
import * as M from './memory';
import * as R from './reasons';

// Absolute pointers and counts of the active snapshot; zero counts before the first load,
// so every lookup answers "unknown customer".
export let snapshotVersion: i64 = 0;
export let createdAtMs: i64 = 0;
export let usageWatermark: i64 = 0;
export let currencyCount: u32 = 0;
export let featureCount: u32 = 0;
export let customerCount: u32 = 0;
export let slotMask: u32 = 0;
export let snapshotBase: usize = 0;
export let featuresAt: usize = 0;
export let indexAt: usize = 0;
export let customersAt: usize = 0;
export let entitlementsAt: usize = 0;
export let balancesAt: usize = 0;
export let entitlementAccountsAt: usize = 0;
export let balanceAccountsAt: usize = 0;

// Counts announced by the host at staging time; the header must agree with them.
let stagedCustomers: u32 = 0;
let stagedFeatures: u32 = 0;
let stagedCurrencies: u32 = 0;

/** Reserves a staging region sized for the announced counts; 0 when memory is exhausted. */
export function stageSnapshot(
  byteLength: u32,
  customers: u32,
  features: u32,
  currencies: u32,
): usize {
  const entitlementRows = <u64>customers * features;
  const balanceRows = <u64>customers * currencies;
  const accountsBytes =
    entitlementRows * L.ENTITLEMENT_ACCOUNT_SIZE + balanceRows * L.BALANCE_ACCOUNT_SIZE;
  stagedCustomers = customers;
  stagedFeatures = features;
  stagedCurrencies = currencies;
  phase = PHASE_HEADER;
  cursor = 0;
  return M.stage(byteLength, accountsBytes);
}

// A staged snapshot is checked in phases, each a loop over one section that can stop after
// any row and resume at `cursor`. The host calls tg_load_step with a row budget between
// decisions, so checking a million customers never stops decisions for long, then
// tg_activate, which only swaps pointers: the accounting is zeroed by the last phase.
const PHASE_HEADER = 0;
const PHASE_CUSTOMERS = 1;
const PHASE_SLOTS = 2;
const PHASE_ENTITLEMENTS = 3;
const PHASE_BALANCES = 4;
const PHASE_SEATS = 5;
const PHASE_ZERO = 6;
const PHASE_CHECKED = 7;
// Bytes of accounting zeroed per unit of budget, about the cost of checking one row.
const ZERO_BYTES_PER_UNIT: u64 = 64;

let phase = PHASE_HEADER;
let cursor: u64 = 0;

/**
 * Checks up to `budget` rows of the staged snapshot. Returns LOAD_IN_PROGRESS while work
 * remains, LOAD_OK once every check passed, or the LOAD_ code of the first failure, after
 * which the staging is dropped and the active snapshot keeps serving.
 */
export function loadStep(budget: u32): i32 {
  if (M.stagingStart == 0) return R.LOAD_NOT_STAGED;
  if (phase == PHASE_CHECKED) return R.LOAD_OK;
  const status = runPhase(M.stagingStart, <u64>budget);
  if (status != R.LOAD_OK && status != R.LOAD_IN_PROGRESS) M.stagingStart = 0;
  return status;
}

function runPhase(base: usize, budget: u64): i32 {
  if (phase == PHASE_HEADER) {
    const status = checkHeader(base, M.stagingLength);
    if (status != R.LOAD_OK) return status;
    if (!checkCatalog(base)) return R.LOAD_BAD_VALUE;
    return advance(PHASE_CUSTOMERS);
  }
  const total = phaseLength(base);
  const end = total - cursor < budget ? total : cursor + budget;
  if (!checkRange(base, cursor, end)) return R.LOAD_BAD_VALUE;
  cursor = end;
  if (cursor < total) return R.LOAD_IN_PROGRESS;
  return advance(phase + 1);
}

function advance(next: i32): i32 {
  phase = next;
  cursor = 0;
  return phase == PHASE_CHECKED ? R.LOAD_OK : R.LOAD_IN_PROGRESS;
}

/** How many units the current phase has: rows, slots, or 64-byte blocks to zero. */
function phaseLength(base: usize): u64 {
  const customers = <u64>load<u32>(base, L.H_CUSTOMER_COUNT);
  if (phase == PHASE_CUSTOMERS) return customers;
  if (phase == PHASE_SLOTS) return <u64>load<u32>(base, L.H_INDEX_SLOT_COUNT);
  if (phase == PHASE_ENTITLEMENTS) return customers * load<u32>(base, L.H_FEATURE_COUNT);
  if (phase == PHASE_BALANCES) return customers * load<u32>(base, L.H_CURRENCY_COUNT);
  if (phase == PHASE_SEATS) return <u64>load<u32>(base, L.H_SEAT_COUNT);
  return (M.stagingAccountsBytes + ZERO_BYTES_PER_UNIT - 1) / ZERO_BYTES_PER_UNIT;
}

function checkRange(base: usize, from: u64, to: u64): bool {
  if (phase == PHASE_CUSTOMERS) return checkCustomers(base, <u32>from, <u32>to);
  if (phase == PHASE_SLOTS) return checkSlots(base, <u32>from, <u32>to);
  if (phase == PHASE_ENTITLEMENTS) return checkEntitlements(base, <usize>from, <usize>to);
  if (phase == PHASE_BALANCES) return checkBalances(base, <usize>from, <usize>to);
  if (phase == PHASE_SEATS) return checkSeats(base, <u32>from, <u32>to);
  zeroAccounts(from, to);
  return true;
}

function zeroAccounts(from: u64, to: u64): void {
  const start = from * ZERO_BYTES_PER_UNIT;
  const end = to * ZERO_BYTES_PER_UNIT;
  const limit = end < M.stagingAccountsBytes ? end : M.stagingAccountsBytes;
  const accounts = M.stagingAccounts();
  M.zeroStaged(accounts + <usize>start, accounts + <usize>limit);
}

/** Checks the whole staged snapshot at once and, when sound, makes it active. */
export function loadStaged(): i32 {
  let status = loadStep(<u32>-1);
  while (status == R.LOAD_IN_PROGRESS) status = loadStep(<u32>-1);
  return status == R.LOAD_OK ? activate() : status;
}

/** Makes a fully checked staged snapshot active: pointer swaps only, no pass over rows. */
export function activate(): i32 {
  if (M.stagingStart == 0 || phase != PHASE_CHECKED) return R.LOAD_NOT_STAGED;
  const base = M.stagingStart;
  const accounts = M.stagingAccounts();
  M.activateStaging();
  phase = PHASE_HEADER;
  adopt(base, accounts);
  // Other instances over a shared memory follow through the control block: the pointers
  // first, then the generation they compare, so a new generation always has its pointers.
  store<u32>(M.controlBlock, <u32>base, M.CB_BASE);
  store<u32>(M.controlBlock, <u32>accounts, M.CB_ACCOUNTS);
  seenGeneration = load<u32>(M.controlBlock, M.CB_GENERATION) + 1;
  if (ASC_FEATURE_THREADS) {
    atomic.store<u32>(M.controlBlock + M.CB_GENERATION, seenGeneration);
  } else {
    store<u32>(M.controlBlock, seenGeneration, M.CB_GENERATION);
  }
  return R.LOAD_OK;
}

// The control block's generation this instance last adopted; 0 before any snapshot.
let seenGeneration: u32 = 0;

/**
 * In the shared build, adopts the snapshot another instance activated since this one
 * last looked. Every export that reads the active snapshot calls it first; in the plain
 * build it compiles to nothing.
 */
export function follow(): void {
  if (!ASC_FEATURE_THREADS) return;
  const generation = atomic.load<u32>(M.controlBlock + M.CB_GENERATION);
  if (generation == seenGeneration) return;
  seenGeneration = generation;
  const base = <usize>load<u32>(M.controlBlock, M.CB_BASE);
  adopt(base, <usize>load<u32>(M.controlBlock, M.CB_ACCOUNTS));
}

/** The generation this instance serves: it moves by one at every activation. */
export function generation(): u32 {
  return seenGeneration;
}

/** Reads the active snapshot's values and section pointers from its checked header. */
function adopt(base: usize, accounts: usize): void {
  snapshotBase = base;
  snapshotVersion = load<i64>(base, L.H_SNAPSHOT_VERSION);
  createdAtMs = load<i64>(base, L.H_CREATED_AT_MS);
  usageWatermark = load<i64>(base, L.H_USAGE_WATERMARK);
  currencyCount = load<u32>(base, L.H_CURRENCY_COUNT);
  featureCount = load<u32>(base, L.H_FEATURE_COUNT);
  customerCount = load<u32>(base, L.H_CUSTOMER_COUNT);
  slotMask = load<u32>(base, L.H_INDEX_SLOT_COUNT) - 1;
  featuresAt = base + load<u32>(base, L.H_FEATURES);
  indexAt = base + load<u32>(base, L.H_INDEX);
  customersAt = base + load<u32>(base, L.H_CUSTOMERS);
  entitlementsAt = base + load<u32>(base, L.H_ENTITLEMENTS);
  balancesAt = base + load<u32>(base, L.H_BALANCES);
  entitlementAccountsAt = accounts;
  balanceAccountsAt =
    entitlementAccountsAt + <usize>customerCount * featureCount * L.ENTITLEMENT_ACCOUNT_SIZE;
}

function align8(offset: u64): u64 {
  return (offset + 7) & ~(<u64>7);
}

/** The header must describe exactly the canonical layout for its counts and length. */
function checkHeader(base: usize, length: u32): i32 {
  if (length < L.HEADER_SIZE) return R.LOAD_TRUNCATED;
  if (load<u32>(base, L.H_MAGIC) != L.SNAPSHOT_MAGIC) return R.LOAD_BAD_MAGIC;
  if (<u32>load<u16>(base, L.H_FORMAT_VERSION) != L.FORMAT_VERSION) return R.LOAD_UNSUPPORTED;
  if (<u32>load<u16>(base, L.H_HEADER_SIZE) != L.HEADER_SIZE) return R.LOAD_BAD_SECTIONS;
  if (load<u32>(base, L.H_TOTAL_LENGTH) != length) return R.LOAD_TRUNCATED;

  const currencies = load<u32>(base, L.H_CURRENCY_COUNT);
  const features = load<u32>(base, L.H_FEATURE_COUNT);
  const customers = load<u32>(base, L.H_CUSTOMER_COUNT);
  if (customers != stagedCustomers || features != stagedFeatures) return R.LOAD_STAGING_MISMATCH;
  if (currencies != stagedCurrencies) return R.LOAD_STAGING_MISMATCH;
  const slots = load<u32>(base, L.H_INDEX_SLOT_COUNT);
  if (slots == 0 || (slots & (slots - 1)) != 0 || <u64>slots < <u64>customers * 2) {
    return R.LOAD_BAD_SECTIONS;
  }

  const expectFeatures = align8(<u64>L.HEADER_SIZE + <u64>currencies * L.CURRENCY_ROW_SIZE);
  const expectIndex = align8(expectFeatures + <u64>features * L.FEATURE_ROW_SIZE);
  const expectCustomers = align8(expectIndex + <u64>slots * L.INDEX_SLOT_SIZE);
  const expectEntitlements = align8(expectCustomers + <u64>customers * L.CUSTOMER_RECORD_SIZE);
  const entitlementBytes = <u64>customers * features * L.ENTITLEMENT_ROW_SIZE;
  const expectBalances = align8(expectEntitlements + entitlementBytes);
  const expectSeats = align8(expectBalances + <u64>customers * currencies * L.BALANCE_ROW_SIZE);
  const seats = load<u32>(base, L.H_SEAT_COUNT);
  const expectStrings = align8(expectSeats + <u64>seats * L.SEAT_ROW_SIZE);
  const stringsLength = load<u32>(base, L.H_STRINGS_LENGTH);
  if (
    <u64>load<u32>(base, L.H_CURRENCIES) != <u64>L.HEADER_SIZE ||
    <u64>load<u32>(base, L.H_FEATURES) != expectFeatures ||
    <u64>load<u32>(base, L.H_INDEX) != expectIndex ||
    <u64>load<u32>(base, L.H_CUSTOMERS) != expectCustomers ||
    <u64>load<u32>(base, L.H_ENTITLEMENTS) != expectEntitlements ||
    <u64>load<u32>(base, L.H_BALANCES) != expectBalances ||
    <u64>load<u32>(base, L.H_SEATS) != expectSeats ||
    <u64>load<u32>(base, L.H_STRINGS) != expectStrings ||
    expectStrings + stringsLength != <u64>length
  ) {
    return R.LOAD_BAD_SECTIONS;
  }
  const amountsSound =
    isCount(load<i64>(base, L.H_SNAPSHOT_VERSION)) &&
    isCount(load<i64>(base, L.H_CREATED_AT_MS)) &&
    isCount(load<i64>(base, L.H_USAGE_WATERMARK));
  return amountsSound ? R.LOAD_OK : R.LOAD_BAD_VALUE;
}

function isCount(value: i64): bool {
  return value >= 0 && value <= AMOUNT_MAX;
}

/** A string reference must lie inside the string section and hold 1 to 128 bytes. */
function isStringInBounds(base: usize, row: usize): bool {
  const offset = <u64>load<u32>(row);
  const length = <u64>load<u32>(row, 4);
  const start = <u64>load<u32>(base, L.H_STRINGS);
  const end = start + <u64>load<u32>(base, L.H_STRINGS_LENGTH);
  return length > 0 && length <= L.ID_BYTES_MAX && offset >= start && offset + length <= end;
}

function checkCatalog(base: usize): bool {
  const currencies = load<u32>(base, L.H_CURRENCY_COUNT);
  const currenciesAt = base + load<u32>(base, L.H_CURRENCIES);
  for (let index: u32 = 0; index < currencies; index++) {
    if (!isStringInBounds(base, currenciesAt + index * L.CURRENCY_ROW_SIZE)) return false;
  }
  const features = load<u32>(base, L.H_FEATURE_COUNT);
  const rowsAt = base + load<u32>(base, L.H_FEATURES);
  for (let index: u32 = 0; index < features; index++) {
    const row = rowsAt + index * L.FEATURE_ROW_SIZE;
    const kind = load<u8>(row, L.F_KIND);
    if (kind < R.KIND_BOOLEAN || kind > R.KIND_SEATS) return false;
    const currency = load<u32>(row, L.F_CURRENCY);
    if (kind == R.KIND_CREDITS ? currency >= currencies : currency != 0) return false;
    if (!isCount(load<i64>(row, L.F_COST)) || !isStringInBounds(base, row)) return false;
  }
  return true;
}

function checkCustomers(base: usize, from: u32, to: u32): bool {
  const recordsAt = base + load<u32>(base, L.H_CUSTOMERS);
  for (let index = from; index < to; index++) {
    const record = recordsAt + index * L.CUSTOMER_RECORD_SIZE;
    if (!isStringInBounds(base, record)) return false;
    if (!isCount(load<i64>(record, L.C_NEXT_CHANGE_AT_MS))) return false;
  }
  return true;
}

/** A slot may only name a record that exists; lookups then never read out of bounds. */
function checkSlots(base: usize, from: u32, to: u32): bool {
  const customers = load<u32>(base, L.H_CUSTOMER_COUNT);
  const slotsAt = base + load<u32>(base, L.H_INDEX);
  for (let slot = from; slot < to; slot++) {
    if (load<u32>(slotsAt + slot * L.INDEX_SLOT_SIZE) > customers) return false;
  }
  return true;
}

/** Amounts must be safe integers so that the f64 boundary is exact. */
function checkEntitlements(base: usize, from: usize, to: usize): bool {
  const entitlementsStart = base + load<u32>(base, L.H_ENTITLEMENTS);
  for (let index = from; index < to; index++) {
    const row = entitlementsStart + index * L.ENTITLEMENT_ROW_SIZE;
    if (load<u8>(row, L.E_ACCESS) > 1 || load<u8>(row, L.E_BEHAVIOR) > 1) return false;
    const limit = load<i64>(row, L.E_LIMIT);
    if (limit < -1 || limit > AMOUNT_MAX) return false;
    if (!isCount(load<i64>(row, L.E_USED)) || !isCount(load<i64>(row, L.E_RESET_AT_MS))) {
      return false;
    }
  }
  return true;
}

function checkBalances(base: usize, from: usize, to: usize): bool {
  const balancesStart = base + load<u32>(base, L.H_BALANCES);
  for (let index = from; index < to; index++) {
    const row = balancesStart + index * L.BALANCE_ROW_SIZE;
    const balance = load<i64>(row, L.B_BALANCE);
    if (balance < -AMOUNT_MAX || balance > AMOUNT_MAX || load<u8>(row, L.B_BEHAVIOR) > 1) {
      return false;
    }
  }
  return true;
}

/** Seat rows must name an existing customer and a user id inside the string section. */
function checkSeats(base: usize, from: u32, to: u32): bool {
  const customers = load<u32>(base, L.H_CUSTOMER_COUNT);
  const rowsAt = base + load<u32>(base, L.H_SEATS);
  for (let index = from; index < to; index++) {
    const row = rowsAt + <usize>index * L.SEAT_ROW_SIZE;
    if (load<u32>(row) >= customers || load<u32>(row, L.S_RESERVED) != 0) return false;
    if (!isStringInBounds(base, row + L.S_USER)) return false;
  }
  return true;
}
