// Local accounting without a decision: releasing a hold, settling it, and recording
// consumption carried over to a new snapshot. They need a known customer and feature but
// not access: the access may have ended while the action was in flight.
//
// Settle under a hard limit charges what is there when the actual amount exceeds the
// hold: never past the limit, never below a zero balance. The charged amount is returned
// in the feature's units (credits for credits features); kinds without accounting
// (boolean, config, seats) charge nothing and return 0.

import * as A from './arithmetic';
import { available, consumeMetered, meteredUsage } from './decide';
import * as L from './layout';
import * as R from './reasons';
import * as S from './snapshot';

const OP_RELEASE = 0;
const OP_RECORD = 1;

function isKnown(handle: i32, feature: i32): bool {
  return (
    handle >= 0 && <u32>handle < S.customerCount && feature >= 0 && <u32>feature < S.featureCount
  );
}

function featureRowOf(feature: i32): usize {
  return S.featuresAt + <usize>feature * L.FEATURE_ROW_SIZE;
}

function entitlementIndex(handle: i32, feature: i32): usize {
  return <usize>handle * S.featureCount + <usize>feature;
}

function balanceIndex(handle: i32, featureRow: usize): usize {
  return <usize>handle * S.currencyCount + <usize>load<u32>(featureRow, L.F_CURRENCY);
}

/** Release (OP_RELEASE) removes a hold; record (OP_RECORD) adds consumption. */
export function adjust(op: i32, handle: i32, feature: i32, quantity: f64, nowMs: f64): void {
  if (!isKnown(handle, feature)) return;
  const featureRow = featureRowOf(feature);
  const kind = load<u8>(featureRow, L.F_KIND);
  const amount = <i64>quantity;
  if (kind == R.KIND_METERED) {
    const index = entitlementIndex(handle, feature);
    const row = S.entitlementsAt + index * L.ENTITLEMENT_ROW_SIZE;
    const account = S.entitlementAccountsAt + index * L.ENTITLEMENT_ACCOUNT_SIZE;
    if (op == OP_RECORD) {
      consumeMetered(row, account, amount, nowMs);
    } else {
      store<i64>(account, A.releaseAmount(load<i64>(account, L.A_HELD), amount), L.A_HELD);
    }
  } else if (kind == R.KIND_CREDITS) {
    const account = S.balanceAccountsAt + balanceIndex(handle, featureRow) * L.BALANCE_ACCOUNT_SIZE;
    const cost = A.multiplyAmount(amount, load<i64>(featureRow, L.F_COST));
    if (op == OP_RECORD) {
      store<i64>(account, A.addAmount(load<i64>(account, L.A_CONSUMED), cost), L.A_CONSUMED);
    } else {
      store<i64>(account, A.releaseAmount(load<i64>(account, L.A_HELD), cost), L.A_HELD);
    }
  }
}

export function release(handle: i32, feature: i32, quantity: f64, nowMs: f64): void {
  adjust(OP_RELEASE, handle, feature, quantity, nowMs);
}

export function record(handle: i32, feature: i32, quantity: f64, nowMs: f64): void {
  adjust(OP_RECORD, handle, feature, quantity, nowMs);
}

function settleMetered(index: usize, heldAmount: i64, actual: i64, nowMs: f64): i64 {
  const row = S.entitlementsAt + index * L.ENTITLEMENT_ROW_SIZE;
  const account = S.entitlementAccountsAt + index * L.ENTITLEMENT_ACCOUNT_SIZE;
  store<i64>(account, A.releaseAmount(load<i64>(account, L.A_HELD), heldAmount), L.A_HELD);

  let charge = actual;
  const limit = load<i64>(row, L.E_LIMIT);
  const hard = load<u8>(row, L.E_BEHAVIOR) == R.BEHAVIOR_HARD;
  if (hard && limit >= 0 && actual > heldAmount) {
    const usage = meteredUsage(row, account, nowMs);
    charge = A.minAmount(actual, usage >= limit ? 0 : limit - usage);
  }
  consumeMetered(row, account, charge, nowMs);
  return charge;
}

function settleCredits(handle: i32, featureRow: usize, heldAmount: i64, actual: i64): i64 {
  const index = balanceIndex(handle, featureRow);
  const balance = S.balancesAt + index * L.BALANCE_ROW_SIZE;
  const account = S.balanceAccountsAt + index * L.BALANCE_ACCOUNT_SIZE;
  const costPerUnit = load<i64>(featureRow, L.F_COST);
  const heldCost = A.multiplyAmount(heldAmount, costPerUnit);
  store<i64>(account, A.releaseAmount(load<i64>(account, L.A_HELD), heldCost), L.A_HELD);

  let charge = A.multiplyAmount(actual, costPerUnit);
  const hard = load<u8>(balance, L.B_BEHAVIOR) == R.BEHAVIOR_HARD;
  if (hard && actual > heldAmount) {
    const left = available(balance, account);
    charge = A.minAmount(charge, left > 0 ? left : 0);
  }
  store<i64>(account, A.addAmount(load<i64>(account, L.A_CONSUMED), charge), L.A_CONSUMED);
  return charge;
}

/** Turns a hold of `held` into a consumption of `actual`; returns the amount charged. */
export function settle(handle: i32, feature: i32, held: f64, actual: f64, nowMs: f64): f64 {
  if (!isKnown(handle, feature)) return 0;
  const featureRow = featureRowOf(feature);
  const kind = load<u8>(featureRow, L.F_KIND);
  if (kind == R.KIND_METERED) {
    const index = entitlementIndex(handle, feature);
    return <f64>settleMetered(index, <i64>held, <i64>actual, nowMs);
  }
  if (kind == R.KIND_CREDITS) {
    return <f64>settleCredits(handle, featureRow, <i64>held, <i64>actual);
  }
  return 0;
}
