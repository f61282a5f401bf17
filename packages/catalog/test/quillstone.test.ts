import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCatalogFile, resolveAccount, trialVersion } from '../src/index.js';
import type { AccountState, Resolution } from '../src/index.js';

const catalog = loadCatalogFile(
  fileURLToPath(new URL('../../../examples/ai-assistant/catalog.yaml', import.meta.url)),
);
const at = (text: string): number => Date.parse(text);
const entry = (resolution: Resolution, feature: string) =>
  resolution.entitlements.find((candidate) => candidate.feature === feature)!;

function subscriber(plan: string, version: number, anchor: string, quantity = 1): AccountState {
  return {
    customerId: 'cus_1',
    createdAtMs: at(anchor),
    timeZone: null,
    subscription: {
      plan,
      version,
      anchorMs: at(anchor),
      quantity,
      pastDueSinceMs: null,
      pausedAtMs: null,
      cancelAtMs: null,
    },
    trial: null,
    addons: [],
    overrides: [],
  };
}

/** Quillstone steps 1–3, 13 and 14 through the public API: the pure resolver. */
describe('resolveAccount on the Quillstone catalog', () => {
  it('pins pro v1 before v2 exists and v2 after 2026-03-01T12:00 (steps 1 and 2)', () => {
    expect(trialVersion(catalog, 'pro', undefined, at('2026-03-01T00:00:00Z')).version).toBe(1);
    expect(trialVersion(catalog, 'pro', undefined, at('2026-03-01T12:00:00Z')).version).toBe(2);
  });

  it('gives acme (pro v1) export_pdf and 50 projects, bolt (pro v2) unlimited (step 3)', () => {
    const nowMs = at('2026-03-02T00:00:00Z');
    const acme = resolveAccount(catalog, subscriber('pro', 1, '2026-03-01T00:00:00Z'), nowMs);
    expect(entry(acme, 'export_pdf').access).toBe(true);
    expect(entry(acme, 'max_projects')).toMatchObject({ limit: 50, winner: 'pro v1' });
    const bolt = resolveAccount(catalog, subscriber('pro', 2, '2026-03-01T12:00:00Z'), nowMs);
    expect(entry(bolt, 'max_projects')).toMatchObject({ access: true, limit: null });
  });

  it('gives crew (team, 3 bought) 3 seats, none for the buyer, and sso that needs one (13)', () => {
    const crew = subscriber('team', 1, '2026-03-01T00:00:00Z', 3);
    const resolution = resolveAccount(catalog, crew, at('2026-03-02T00:00:00Z'));
    expect(entry(resolution, 'seats').limit).toBe(3);
    expect(catalog.seats.buyerOccupiesSeat).toBe(false);
    expect(entry(resolution, 'sso')).toMatchObject({ access: true, requiresSeat: true });
    expect(entry(resolution, 'export_pdf').requiresSeat).toBe(false);
  });

  it('trials pro from 03-10: export_pdf on 03-20; none and 3 projects from 03-24 (14)', () => {
    const tryme: AccountState = {
      ...subscriber('free', 1, '2026-03-10T00:00:00Z'),
      trial: {
        trial: 'pro_trial',
        plan: 'pro',
        startsAtMs: at('2026-03-10T00:00:00Z'),
        endsAtMs: at('2026-03-24T00:00:00Z'),
      },
    };
    const during = resolveAccount(catalog, tryme, at('2026-03-20T00:00:00Z'));
    expect([during.status, entry(during, 'export_pdf').access]).toEqual(['trialing', true]);
    expect(during.nextChangeAtMs).toBe(at('2026-03-24T00:00:00Z'));
    for (const instant of ['2026-03-23T23:59:59.999Z', '2026-03-24T00:00:00Z']) {
      const resolution = resolveAccount(catalog, tryme, at(instant));
      const trialing = instant.startsWith('2026-03-23');
      expect(entry(resolution, 'export_pdf').access).toBe(trialing);
      expect(entry(resolution, 'max_projects').limit).toBe(trialing ? null : 3);
    }
  });
});
