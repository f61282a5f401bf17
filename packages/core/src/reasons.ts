/**
 * The closed, numbered set of decision reasons, shared with the Wasm evaluator
 * (`assembly/src/reasons.ts` holds the same numbers). When several reasons apply,
 * the lowest number wins, so the order of this enum is the precedence order.
 * Numbers are never reused: a retired reason keeps its number forever.
 */
export enum Reason {
  Allowed = 0,
  UnknownCustomer = 1,
  UnknownFeature = 2,
  NoAccess = 3,
  NoSeat = 4,
  LimitExceeded = 5,
  InsufficientCredits = 6,
  StaleSnapshot = 7,
}

/** Stable snake_case names, as JSON bodies carry them. Index = reason number. */
export const reasonNames = [
  'allowed',
  'unknown_customer',
  'unknown_feature',
  'no_access',
  'no_seat',
  'limit_exceeded',
  'insufficient_credits',
  'stale_snapshot',
] as const;

export type ReasonName = (typeof reasonNames)[number];

/** The HTTP status an adapter answers a denial with; `allowed` has none. */
export const httpStatusByReason: Readonly<Record<ReasonName, number>> = {
  allowed: 200,
  unknown_customer: 403,
  unknown_feature: 403,
  no_access: 403,
  no_seat: 403,
  limit_exceeded: 429,
  insufficient_credits: 402,
  stale_snapshot: 503,
};

export function reasonName(reason: Reason): ReasonName {
  const name = reasonNames[reason];
  if (name === undefined) throw new RangeError(`unknown reason number ${reason}`);
  return name;
}
