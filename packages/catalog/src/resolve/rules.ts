import type { FeatureKindName } from '@tollgate/core';
import { validationError } from '@tollgate/core';
import type { CombineRule, FeatureDefinition } from '../types.js';

/**
 * The combine rules a feature kind takes. Boolean and credits features have only access
 * to combine (`or` grants it, `set` may take it away); config, metered and seats features
 * combine limits (`sum`, `set`, `max`), since `or` would leave a limit unchanged.
 */
export function rulesFor(kind: FeatureKindName): readonly CombineRule[] {
  return kind === 'boolean' || kind === 'credits' ? ['or', 'set'] : ['sum', 'set', 'max'];
}

/**
 * Refuses an override rule the feature's kind cannot take, so that a `sum` on a boolean or
 * an `or` on a limit is never stored to be silently ignored at resolution.
 *
 * @throws TollgateError `TOLLGATE_ERR_VALIDATION` naming `field` (by default `rule`).
 * @example
 * checkOverrideRule(catalog.features.get('export_pdf')!, 'sum'); // throws, field `rule`
 */
export function checkOverrideRule(
  feature: FeatureDefinition,
  rule: CombineRule,
  field = 'rule',
): void {
  const allowed = rulesFor(feature.kind);
  if (allowed.includes(rule)) return;
  throw validationError(
    field,
    `a ${feature.kind} feature (${feature.key}) combines by ${allowed.join(', ')}, not ${rule}`,
  );
}
