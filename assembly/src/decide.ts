// Decisions over the active snapshot and its local accounting. The TypeScript reference
// (packages/evaluator/src/reference.ts) implements the same rules line for line; the
// differential test holds the two together.
//
// Metered usage = snapshot used + local consumed + held. Once nowMs reaches a row's
// reset instant the period has rolled over: the snapshot's `used` no longer counts, and
// neither does local consumption recorded before the rollover. The accounting row's
// phase says which side of the reset its consumption belongs to; holds are in flight
// and count on both sides.

import * as A from './arithmetic';
import * as L from './layout';
import * as M from './memory';
import * as R from './reasons';
import * as S from './snapshot';

const E_QUANTITY = 'quantity out of range';

function writeResult(
  reason: i32,
  flags: i32,
  limit: i64,
  used: i64,
  remaining: i64,
  cost: i64,
  resetAtMs: i64,
): i32 {
  const result = M.resultBuffer;
  store<i32>(result, reason, M.R_REASON);
  store<i32>(result, flags, M.R_FLAGS);
  store<f64>(result, <f64>limit, M.R_LIMIT);
  store<f64>(result, <f64>used, M.R_USED);
  store<f64>(result, <f64>remaining, M.R_REMAINING);
  store<f64>(result, <f64>cost, M.R_COST);
  store<f64>(result, <f64>resetAtMs, M.R_RESET_AT_MS);
  return reason;
}

function deny(reason: i32): i32 {
  return writeResult(reason, M.FLAG_LIMIT_NULL | M.FLAG_REMAINING_NULL, 0, 0, 0, 0, 0);
}

function entitlementRow(handle: i32, feature: i32): usize {
  return <usize>handle * S.featureCount + <usize>feature;
}

/** True when the row resets and nowMs has reached the reset: the end is exclusive. */
function hasRolledOver(row: usize, nowMs: f64): bool {
  const resetAtMs = load<i64>(row, L.E_RESET_AT_MS);
  return resetAtMs != 0 && nowMs >= <f64>resetAtMs;
}

export function meteredUsage(row: usize, account: usize, nowMs: f64): i64 {
  const rolled = hasRolledOver(row, nowMs);
  const base: i64 = rolled ? 0 : load<i64>(row, L.E_USED);
  const afterReset = load<u32>(account, L.A_PHASE) == L.PHASE_AFTER_RESET;
  const local: i64 = !rolled || afterReset ? load<i64>(account, L.A_CONSUMED) : 0;
  return A.addAmount(A.addAmount(base, local), load<i64>(account, L.A_HELD));
}

/** Adds metered consumption, first dropping what was consumed before a rollover. */
export function consumeMetered(row: usize, account: usize, quantity: i64, nowMs: f64): void {
  if (hasRolledOver(row, nowMs) && load<u32>(account, L.A_PHASE) != L.PHASE_AFTER_RESET) {
    store<i64>(account, 0, L.A_CONSUMED);
    store<u32>(account, L.PHASE_AFTER_RESET, L.A_PHASE);
  }
  store<i64>(account, A.addAmount(load<i64>(account, L.A_CONSUMED), quantity), L.A_CONSUMED);
}

function decideMetered(op: i32, row: usize, account: usize, quantity: i64, nowMs: f64): i32 {
  const limit = load<i64>(row, L.E_LIMIT);
  const unlimited = limit < 0;
  const usage = meteredUsage(row, account, nowMs);
  const after = A.addAmount(usage, quantity);
  const hard = load<u8>(row, L.E_BEHAVIOR) == R.BEHAVIOR_HARD;
  const allowed = unlimited || !hard || after <= limit;
  const reason = allowed ? R.REASON_ALLOWED : R.REASON_LIMIT_EXCEEDED;

  let used = usage;
  if (allowed && op == R.OP_CONSUME) {
    consumeMetered(row, account, quantity, nowMs);
    used = after;
  } else if (allowed && op == R.OP_HOLD) {
    store<i64>(account, A.addAmount(load<i64>(account, L.A_HELD), quantity), L.A_HELD);
    used = after;
  }
  const flags = unlimited ? M.FLAG_LIMIT_NULL | M.FLAG_REMAINING_NULL : 0;
  const remaining: i64 = unlimited || used >= limit ? 0 : limit - used;
  const resetAtMs = load<i64>(row, L.E_RESET_AT_MS);
  return writeResult(reason, flags, limit, used, remaining, quantity, resetAtMs);
}

/** Config: the quantity is the count the app wants to reach; nothing is recorded. */
function decideConfig(row: usize, quantity: i64): i32 {
  const limit = load<i64>(row, L.E_LIMIT);
  const unlimited = limit < 0;
  const allowed = unlimited || quantity <= limit;
  const reason = allowed ? R.REASON_ALLOWED : R.REASON_LIMIT_EXCEEDED;
  const flags = unlimited ? M.FLAG_LIMIT_NULL | M.FLAG_REMAINING_NULL : 0;
  const remaining: i64 = unlimited || quantity >= limit ? 0 : limit - quantity;
  return writeResult(reason, flags, limit, quantity, remaining, 0, load<i64>(row, L.E_RESET_AT_MS));
}

function balanceIndex(handle: i32, featureRow: usize): usize {
  return <usize>handle * S.currencyCount + <usize>load<u32>(featureRow, L.F_CURRENCY);
}

export function available(balance: usize, account: usize): i64 {
  const afterConsumed = A.subtractAmount(load<i64>(balance, L.B_BALANCE), load<i64>(account));
  return A.subtractAmount(afterConsumed, load<i64>(account, L.A_HELD));
}

function decideCredits(op: i32, handle: i32, feature: i32, quantity: i64, row: usize): i32 {
  const featureRow = S.featuresAt + <usize>feature * L.FEATURE_ROW_SIZE;
  const index = balanceIndex(handle, featureRow);
  const balance = S.balancesAt + index * L.BALANCE_ROW_SIZE;
  const account = S.balanceAccountsAt + index * L.BALANCE_ACCOUNT_SIZE;
  const cost = A.multiplyAmount(quantity, load<i64>(featureRow, L.F_COST));
  const before = available(balance, account);
  const hard = load<u8>(balance, L.B_BEHAVIOR) == R.BEHAVIOR_HARD;
  const allowed = !hard || cost == 0 || cost <= before;
  const reason = allowed ? R.REASON_ALLOWED : R.REASON_INSUFFICIENT_CREDITS;

  let remaining = before;
  if (allowed && op != R.OP_CHECK) {
    const slot = op == R.OP_CONSUME ? L.A_CONSUMED : L.A_HELD;
    store<i64>(account + slot, A.addAmount(load<i64>(account + slot), cost));
    remaining = A.subtractAmount(before, cost);
  }
  const resetAtMs = load<i64>(row, L.E_RESET_AT_MS);
  return writeResult(reason, M.FLAG_LIMIT_NULL, 0, cost, remaining, cost, resetAtMs);
}

/** check (OP_CHECK), consume (OP_CONSUME) or hold (OP_HOLD); returns the reason. */
export function decide(op: i32, handle: i32, feature: i32, quantity: f64, nowMs: f64): i32 {
  assert(quantity >= 0 && quantity <= <f64>A.AMOUNT_MAX, E_QUANTITY);
  if (handle < 0 || <u32>handle >= S.customerCount) return deny(R.REASON_UNKNOWN_CUSTOMER);
  if (feature < 0 || <u32>feature >= S.featureCount) return deny(R.REASON_UNKNOWN_FEATURE);
  const index = entitlementRow(handle, feature);
  const row = S.entitlementsAt + index * L.ENTITLEMENT_ROW_SIZE;
  if (load<u8>(row, L.E_ACCESS) == 0) return deny(R.REASON_NO_ACCESS);

  const kind = load<u8>(S.featuresAt + <usize>feature * L.FEATURE_ROW_SIZE, L.F_KIND);
  const amount = <i64>quantity;
  if (kind == R.KIND_METERED) {
    const account = S.entitlementAccountsAt + index * L.ENTITLEMENT_ACCOUNT_SIZE;
    return decideMetered(op, row, account, amount, nowMs);
  }
  if (kind == R.KIND_CREDITS) return decideCredits(op, handle, feature, amount, row);
  if (kind == R.KIND_CONFIG) return decideConfig(row, amount);
  const flags = M.FLAG_LIMIT_NULL | M.FLAG_REMAINING_NULL;
  return writeResult(R.REASON_ALLOWED, flags, 0, 0, 0, 0, load<i64>(row, L.E_RESET_AT_MS));
}
