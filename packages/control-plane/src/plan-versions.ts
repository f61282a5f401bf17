import { TollgateError, validationError } from '@tollgate/core';
import type { Catalog, PlanVersionDefinition } from '@tollgate/catalog';

/**
 * The version a new subscription pins: the one asked for, or else the highest version
 * published at or before `nowMs`. A version published later is refused either way, so a
 * subscription never runs on rules that did not exist yet. `versionField` names the
 * request field a refused version came from (`version`, `to_version`).
 */
export function pickPlanVersion(
  catalog: Catalog,
  planKey: string,
  version: number | undefined,
  nowMs: number,
  versionField = 'version',
): PlanVersionDefinition {
  const plan = catalog.plans.get(planKey);
  if (plan === undefined) throw validationError('plan', `no plan named ${planKey}`);

  const published = plan.versions.filter((candidate) => candidate.publishedAtMs <= nowMs);
  if (version === undefined) {
    const latest = published.at(-1);
    if (latest === undefined) throw validationError('plan', `${planKey} has no published version`);
    return latest;
  }
  const pinned = published.find((candidate) => candidate.version === version);
  if (pinned === undefined) {
    throw validationError(versionField, `${planKey} has no version ${version} published by now`);
  }
  return pinned;
}

/** The version a stored subscription pinned. The catalog must still hold it. */
export function findPlanVersion(
  catalog: Catalog,
  planKey: string,
  version: number,
): PlanVersionDefinition {
  const found = catalog.plans.get(planKey)?.versions.find((entry) => entry.version === version);
  if (found === undefined) {
    throw new TollgateError('TOLLGATE_ERR_CATALOG_INVALID', 'A pinned plan version is missing', {
      detail: `the catalog lost ${planKey} v${version}, which a subscription pins`,
    });
  }
  return found;
}

/**
 * Refuses a quantity whose per-unit recurring grants (credits per seat) would pass 2^53 − 1
 * in amount or cost basis: caught here, naming `quantity`, instead of failing every read
 * of the customer at the next period start.
 */
export function assertQuantityFits(version: PlanVersionDefinition, quantity: number): void {
  for (const grant of version.recurringGrants) {
    if (!grant.perUnit) continue;
    const amount = grant.amount * quantity;
    const costBasis = grant.costBasis * quantity;
    if (!Number.isSafeInteger(amount) || !Number.isSafeInteger(costBasis)) {
      throw validationError(
        'quantity',
        `${quantity} units × ${grant.amount} ${grant.currency} a period exceed 2^53 - 1`,
      );
    }
  }
}
