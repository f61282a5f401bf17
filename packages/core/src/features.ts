/**
 * Feature kinds. The numbers are part of the snapshot format (version 1) and of the
 * Wasm ABI, so they never change meaning.
 */
export enum FeatureKind {
  Boolean = 1,
  Config = 2,
  Metered = 3,
  Credits = 4,
  Seats = 5,
}

export const featureKindNames = ['boolean', 'config', 'metered', 'credits', 'seats'] as const;
export type FeatureKindName = (typeof featureKindNames)[number];

export function featureKindFromName(name: FeatureKindName): FeatureKind {
  return (featureKindNames.indexOf(name) + 1) as FeatureKind;
}

/**
 * What happens when a request cannot be covered: `hard` denies it, `soft` allows it
 * and records the overage. Numbers are part of the snapshot format.
 */
export enum LimitBehavior {
  Hard = 0,
  Soft = 1,
}
