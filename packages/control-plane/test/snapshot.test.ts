import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSnapshot } from '@tollgate/snapshot';
import { FeatureKind, LimitBehavior } from '@tollgate/core';
import { runtimeKey, startHarness } from './harness.js';
import type { Harness } from './harness.js';

const { Hard, Soft } = LimitBehavior;
const aprilMs = Date.parse('2026-04-01T00:00:00Z');

describe('control plane: GET /v1/snapshot', () => {
  let harness: Harness;
  const fetchSnapshot = (version?: number) =>
    fetch(`${harness.baseUrl}/v1/snapshot`, {
      headers: {
        authorization: `Bearer ${runtimeKey}`,
        ...(version === undefined ? {} : { 'if-none-match': `"${version}"` }),
      },
    });
  async function current() {
    const response = await fetchSnapshot();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    const version = Number(response.headers.get('tollgate-snapshot-version'));
    const snapshot = decodeSnapshot(new Uint8Array(await response.arrayBuffer()));
    expect(snapshot.snapshotVersion).toBe(version);
    return snapshot;
  }

  beforeAll(async () => {
    harness = await startHarness('2026-03-01T00:00:00Z');
    await harness.call('POST', '/v1/customers', { id: 'acme' });
    await harness.call('POST', '/v1/customers/acme/subscriptions', { plan: 'pro' });
    await harness.call('POST', '/v1/customers/acme/addons', {
      addon: 'extra_projects_25',
      idempotency_key: 'projects',
    });
  });
  afterAll(() => harness.close());

  it('serves every customer resolved per catalog feature, in catalog order', async () => {
    const snapshot = await current();
    expect(snapshot.features.map((feature) => [feature.key, feature.kind])).toEqual([
      ['export_pdf', FeatureKind.Boolean],
      ['sso', FeatureKind.Boolean],
      ['max_projects', FeatureKind.Config],
      ['chat.fast', FeatureKind.Credits],
      ['chat.smart', FeatureKind.Credits],
      ['image.generate', FeatureKind.Credits],
      ['api_tokens', FeatureKind.Metered],
      ['seats', FeatureKind.Seats],
    ]);
    const none = { used: 0, resetAtMs: 0 };
    const [acme] = snapshot.customers;
    expect(acme).toEqual({
      id: 'acme',
      nextChangeAtMs: aprilMs,
      entitlements: [
        { access: true, limit: null, behavior: Hard, ...none },
        { access: false, limit: null, behavior: Hard, ...none },
        { access: true, limit: 75, behavior: Hard, ...none },
        { access: true, limit: null, behavior: Hard, ...none },
        { access: true, limit: null, behavior: Hard, ...none },
        { access: true, limit: null, behavior: Hard, ...none },
        { access: true, limit: 2_000_000, behavior: Soft, used: 0, resetAtMs: aprilMs },
        { access: true, limit: 1, behavior: Hard, ...none },
      ],
      balances: [{ balance: 2_000, behavior: Hard }],
    });
  });

  it('answers 304 to if-none-match with the current version', async () => {
    const version = (await current()).snapshotVersion;
    const response = await fetchSnapshot(version);
    expect(response.status).toBe(304);
    expect(response.headers.get('tollgate-snapshot-version')).toBe(String(version));
  });

  it('moves to a higher version after usage is written', async () => {
    const before = (await current()).snapshotVersion;
    const timeMs = Date.parse('2026-03-01T01:00:00Z');
    harness.clock.set(timeMs);
    await harness.postUsage([
      { key: 'u1', customer: 'acme', feature: 'api_tokens', quantity: 1_234, time: timeMs },
      { key: 'u2', customer: 'acme', feature: 'chat.smart', quantity: 2, time: timeMs },
    ]);
    const after = await current();
    expect(after.snapshotVersion).toBe(before + 1);
    expect(after.usageWatermark).toBe(2);
    expect(after.customers[0]?.entitlements[6]?.used).toBe(1_234);
    expect(after.customers[0]?.balances[0]?.balance).toBe(1_990);
    expect((await fetchSnapshot(before)).status).toBe(200);
  });

  it('keeps the version while nothing changes, and moves it when a period ends', async () => {
    const held = (await current()).snapshotVersion;
    harness.clock.set('2026-03-20T00:00:00Z');
    expect((await current()).snapshotVersion).toBe(held);

    harness.clock.set(aprilMs);
    const rolled = await current();
    expect(rolled.snapshotVersion).toBe(held + 1);
    const acme = rolled.customers[0];
    expect(acme?.balances[0]?.balance).toBe(2_000);
    expect(acme?.entitlements[6]).toMatchObject({ used: 0, resetAtMs: Date.parse('2026-05-01') });
    expect(acme?.nextChangeAtMs).toBe(Date.parse('2026-05-01T00:00:00Z'));
  });
});
