import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { admin, startChild, startControlPlane } from './processes/spawn.js';
import type { Child } from './processes/spawn.js';

const directory = mkdtempSync(join(tmpdir(), 'tollgate-push-'));
const children: Child[] = [];

afterAll(async () => {
  for (const child of children) await child.kill();
  rmSync(directory, { recursive: true, force: true });
});

const payload = (line: string) => JSON.parse(line.slice(line.indexOf(' ') + 1));

describe('snapshot push across runtime processes', () => {
  it('allows sso in every runtime once the upgrade is pushed, never denying it after', async () => {
    const env = { TG_DATABASE: join(directory, 'tollgate.sqlite') };
    const first = await startControlPlane(env);
    children.push(first);
    const second = await startControlPlane(env);
    children.push(second);
    await admin(first.url, 'POST', '/v1/customers', { id: 'upgrader' });
    await admin(first.url, 'POST', '/v1/customers/upgrader/subscriptions', { plan: 'free' });

    // Two runtimes hold the stream of the instance that takes the upgrade, one the other's,
    // which learns of the change from the shared database on its next check.
    const runtimes = [first, first, second].map((plane) =>
      startChild('./push-runtime.mjs', {
        TG_URL: plane.url,
        TG_CUSTOMER: 'upgrader',
        TG_FEATURE: 'sso',
        TG_USER: 'una',
      }),
    );
    children.push(...runtimes);
    const ready = await Promise.all(runtimes.map((runtime) => runtime.line('ready ')));
    for (const line of ready) expect(payload(line).reason).toBe('no_access');

    await admin(first.url, 'POST', '/v1/customers/upgrader/subscription/change', { plan: 'team' });
    // sso requires a seat: una takes one of the team plan's.
    await admin(first.url, 'POST', '/v1/customers/upgrader/seats', { user: 'una' });
    const allowed = await Promise.all(runtimes.map((runtime) => runtime.line('allowed ')));
    const allowedVersions = allowed.map((line) => payload(line).version as number);
    for (const [index, version] of allowedVersions.entries()) {
      expect(version).toBeGreaterThan(payload(ready[index]!).version);
    }

    // One more change, so that every runtime swaps snapshots again after allowing sso.
    await admin(first.url, 'POST', '/v1/customers/upgrader/grants', {
      currency: 'ai_credits',
      amount: 10,
      category: 'paid',
      idempotency_key: 'after-upgrade',
    });
    await Promise.all(
      runtimes.map((runtime, index) =>
        runtime.lineWhere(
          (line) => line.startsWith('version ') && Number(line.slice(8)) > allowedVersions[index]!,
        ),
      ),
    );

    const summaries = runtimes.map((runtime) => runtime.line('summary '));
    for (const runtime of runtimes) await runtime.stop();
    for (const line of await Promise.all(summaries)) {
      const summary = payload(line);
      expect(summary.deniedAfterAllowed).toBe(0);
      expect(summary.allowedChecks).toBeGreaterThan(0);
      expect(summary.lastVersion).toBeGreaterThan(summary.firstAllowedVersion);
    }
  });
});
