import { createHash } from 'node:crypto';
import { TollgateError } from '@tollgate/core';
import type { Catalog, PlanVersionDefinition } from '@tollgate/catalog';
import type { Store } from './store/store.js';

/**
 * Publishing a plan version never changes an existing one. The catalog is a file, so
 * nothing stops an edit of a published version; this check does. Each environment
 * records every version's content hash the first time it starts with it, and a later
 * catalog whose version hashes differently is refused, naming the version's path, before
 * the server serves anything. Changed rules go in a new version.
 *
 * A version that a subscription pins (now or in its history) or a trial grants must stay
 * in the catalog too: resolution reads it for every instant it was in force, so a catalog
 * without it is refused at start, naming the plan's versions, rather than failing at the
 * first snapshot or explain of those customers.
 *
 * A version first seen with a start is recorded in that start's transaction; when one
 * environment refuses, the environments checked before it keep their new records, which
 * only describe versions that were new to them.
 */
export async function checkPublishedVersions(
  store: Store,
  catalog: Catalog,
  environments: readonly string[],
  nowMs: number,
): Promise<void> {
  for (const environment of environments) {
    await store.transaction(environment, async (tx) => {
      for (const pinned of await tx.accounts.listPinnedVersions()) {
        const plan = catalog.plans.get(pinned.plan);
        if (plan?.versions.some((version) => version.version === pinned.planVersion)) continue;
        throw removedVersion(pinned.plan, pinned.planVersion, plan === undefined);
      }
      for (const plan of catalog.plans.values()) {
        for (const [index, version] of plan.versions.entries()) {
          const contentHash = hashOf(version);
          const recorded = await tx.accounts.recordPlanVersion(
            plan.key,
            version.version,
            contentHash,
            nowMs,
          );
          if (recorded.contentHash !== contentHash) {
            throw changedVersion(plan.key, index, version, recorded.firstSeenAtMs);
          }
        }
      }
    });
  }
}

/** The hash of what a version grants; Maps become entry lists so the JSON is stable. */
function hashOf(version: PlanVersionDefinition): string {
  const content = {
    publishedAtMs: version.publishedAtMs,
    entitlements: [...version.entitlements.entries()],
    recurringGrants: version.recurringGrants,
  };
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

function changedVersion(
  plan: string,
  index: number,
  version: PlanVersionDefinition,
  firstSeenAtMs: number,
): TollgateError {
  const field = `plans.${plan}.versions[${index}]`;
  const since = new Date(firstSeenAtMs).toISOString();
  return new TollgateError(
    'TOLLGATE_ERR_CATALOG_INVALID',
    `${field}: version ${version.version} of ${plan} was published with other content ` +
      `(first seen ${since}); publish a new version instead`,
    { field },
  );
}

function removedVersion(plan: string, version: number, planMissing: boolean): TollgateError {
  const field = planMissing ? `plans.${plan}` : `plans.${plan}.versions`;
  const what = planMissing ? `plan ${plan}` : `version ${version} of ${plan}`;
  return new TollgateError(
    'TOLLGATE_ERR_CATALOG_INVALID',
    `${field}: ${what} is missing, but subscriptions or trials pin ${plan} v${version}; ` +
      'keep published versions in the catalog',
    { field },
  );
}
