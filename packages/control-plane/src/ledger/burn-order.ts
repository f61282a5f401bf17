import type { BurnRule } from '@tollgate/catalog';
import type { GrantRow } from '../store/store.js';

/** The order used when a currency names none: the design brief's default. */
export const defaultBurnOrder: readonly BurnRule[] = [
  'priority',
  'promotional_first',
  'soonest_expiry',
  'oldest',
];

type GrantOrderFields = Pick<
  GrantRow,
  'id' | 'priority' | 'category' | 'expiresAtMs' | 'effectiveAtMs'
>;

/**
 * Sorts grants into the order a debit draws from them. Rules are compared one by one until
 * one tells the grants apart; the grant id breaks every remaining tie, so the order is
 * total and a replayed debit touches the same grants.
 */
export function sortByBurnOrder<Grant extends GrantOrderFields>(
  grants: readonly Grant[],
  rules: readonly BurnRule[],
): Grant[] {
  return [...grants].sort((left, right) => {
    for (const rule of rules) {
      const difference = compareByRule(rule, left, right);
      if (difference !== 0) return difference;
    }
    return left.id - right.id;
  });
}

function compareByRule(rule: BurnRule, left: GrantOrderFields, right: GrantOrderFields): number {
  switch (rule) {
    case 'priority':
      return left.priority - right.priority;
    case 'promotional_first':
      return categoryRank(left) - categoryRank(right);
    case 'soonest_expiry':
      // A grant that never expires is spent last.
      return (left.expiresAtMs ?? Infinity) - (right.expiresAtMs ?? Infinity) || 0;
    case 'oldest':
      return left.effectiveAtMs - right.effectiveAtMs;
  }
}

function categoryRank(grant: GrantOrderFields): number {
  return grant.category === 'promotional' ? 0 : 1;
}
