import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from '@tollgate/catalog';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { testSchema } from './postgres-schema.js';

export type StoreKind = 'sqlite' | 'postgres';

/**
 * A control plane on the named store at `start`: SQLite in a temp file, or PostgreSQL
 * (127.0.0.1:5432) in a fresh schema dropped on close.
 */
export async function startStoreHarness(
  kind: StoreKind,
  start: string,
  catalog?: Catalog,
): Promise<Harness> {
  const options = catalog === undefined ? {} : { catalog };
  if (kind === 'sqlite') return startHarness(start, options);
  const schema = testSchema('entitlements');
  const harness = await startHarness(start, { ...options, databaseUrl: schema.url });
  return {
    ...harness,
    async close() {
      await harness.close();
      await schema.drop();
    },
  };
}

/** Quillstone steps 1–3, 13 and 14, the explain trace and bad input, on one store. */
export function entitlementsSuite(kind: StoreKind): void {
  describe(`control plane: entitlement resolution over HTTP (${kind})`, () => {
    let harness: Harness;
    const explain = (customer: string, feature: string, at?: string, user?: string) => {
      const query = new URLSearchParams({
        feature,
        ...(at ? { at } : {}),
        ...(user ? { user } : {}),
      });
      return harness.call('GET', `/v1/customers/${customer}/explain?${query}`);
    };

    beforeAll(async () => {
      harness = await startStoreHarness(kind, '2026-03-01T00:00:00Z');
      await harness.call('POST', '/v1/customers', { id: 'acme' });
      await harness.call('POST', '/v1/customers/acme/subscriptions', { plan: 'pro' });
      harness.clock.set('2026-03-01T12:00:00Z');
      await harness.call('POST', '/v1/customers', { id: 'bolt' });
      await harness.call('POST', '/v1/customers/bolt/subscriptions', { plan: 'pro' });
    });
    afterAll(() => harness.close());

    it('refuses a team quantity whose credits per seat would pass 2^53 - 1', async () => {
      await harness.call('POST', '/v1/customers', { id: 'hoard' });
      const huge = 3_100_000_000_000;
      const created = await harness.call('POST', '/v1/customers/hoard/subscriptions', {
        plan: 'team',
        quantity: huge,
      });
      expect(created.status).toBe(400);
      expect(created.body).toMatchObject({ code: 'TOLLGATE_ERR_VALIDATION', field: 'quantity' });
      expect((await harness.call('GET', '/v1/customers/hoard/balances')).body).toMatchObject({
        balances: [{ currency: 'ai_credits', balance: 0, grants: [] }],
      });
      await harness.call('POST', '/v1/customers/hoard/subscriptions', { plan: 'team' });
      const changed = await harness.call('POST', '/v1/customers/hoard/subscription/change', {
        quantity: huge,
      });
      expect(changed.status).toBe(400);
      expect(changed.body).toMatchObject({ field: 'quantity' });
      const seats = await explain('hoard', 'seats');
      expect(seats.body).toMatchObject({ limit: 1 });
    });

    it('keeps acme on pro v1 (50 projects) and gives bolt v2 (unlimited) (steps 1–3)', async () => {
      const acmePdf = await explain('acme', 'export_pdf');
      expect(acmePdf.body).toMatchObject({ access: true, plan: { plan: 'pro', version: 1 } });
      const acme = await explain('acme', 'max_projects');
      expect(acme.body).toMatchObject({ limit: 50, unlimited: false, winner: 'pro v1' });
      const bolt = await explain('bolt', 'max_projects');
      expect(bolt.body).toMatchObject({ limit: null, unlimited: true, winner: 'pro v2' });
    });

    it('adds 25 projects, lets an override set 10 and win, and returns to 75 after', async () => {
      await harness.call('POST', '/v1/customers/acme/addons', {
        addon: 'extra_projects_25',
        idempotency_key: 'projects-1',
      });
      expect((await explain('acme', 'max_projects')).body).toMatchObject({
        limit: 75,
        winner: 'extra_projects_25',
      });
      const created = await harness.call('POST', '/v1/customers/acme/overrides', {
        feature: 'max_projects',
        limit: 10,
        starts_at: '2026-03-05T00:00:00Z',
        ends_at: '2026-03-10T00:00:00Z',
      });
      expect(created.status).toBe(201);
      const during = await explain('acme', 'max_projects', '2026-03-06T00:00:00Z');
      expect(during.body.limit).toBe(10);
      expect(during.body.winner).toBe(`override ${created.body.id}`);
      expect(
        during.body.trace.map((step: any) => [step.source, step.rule, step.limit_after]),
      ).toEqual([
        ['plan', 'base', 50],
        ['addon', 'sum', 75],
        ['override', 'set', 10],
      ]);
      expect(during.body.next_change_at).toBe('2026-03-10T00:00:00.000Z');
      const after = await explain('acme', 'max_projects', '2026-03-10T00:00:00Z');
      expect(after.body).toMatchObject({ limit: 75, winner: 'extra_projects_25' });
    });

    it('refuses an overlapping override without a rule, naming rule; nothing changes', async () => {
      const before = await explain('acme', 'max_projects', '2026-03-06T00:00:00Z');
      const clash = await harness.call('POST', '/v1/customers/acme/overrides', {
        feature: 'max_projects',
        limit: 500,
        starts_at: '2026-03-08T00:00:00Z',
      });
      expect(clash.status).toBe(409);
      expect(clash.body).toMatchObject({ code: 'TOLLGATE_ERR_OVERRIDE_OVERLAP', field: 'rule' });
      expect((await explain('acme', 'max_projects', '2026-03-06T00:00:00Z')).body).toEqual(
        before.body,
      );
      const stated = await harness.call('POST', '/v1/customers/acme/overrides', {
        feature: 'max_projects',
        limit: 500,
        rule: 'max',
        starts_at: '2026-03-08T00:00:00Z',
        ends_at: '2026-03-09T00:00:00Z',
      });
      expect(stated.status).toBe(201);
      expect((await explain('acme', 'max_projects', '2026-03-08T12:00:00Z')).body.limit).toBe(500);
    });

    it('seats alice, bob, carol; refuses dave; seats him once bob leaves (step 13)', async () => {
      await harness.call('POST', '/v1/customers', { id: 'crew' });
      await harness.call('POST', '/v1/customers/crew/subscriptions', { plan: 'team', quantity: 3 });
      for (const user of ['alice', 'bob', 'carol']) {
        const seated = await harness.call('POST', '/v1/customers/crew/seats', { user });
        expect(seated.status).toBe(201);
      }
      const refused = await harness.call('POST', '/v1/customers/crew/seats', { user: 'dave' });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'TOLLGATE_ERR_NO_SEAT_AVAILABLE', field: 'user' });
      expect((await harness.call('DELETE', '/v1/customers/crew/seats/bob')).status).toBe(200);
      expect(
        (await harness.call('POST', '/v1/customers/crew/seats', { user: 'dave' })).status,
      ).toBe(201);
      const seats = await harness.call('GET', '/v1/customers/crew/seats');
      expect(seats.body).toMatchObject({
        limit: 3,
        buyer_occupies_seat: false,
        holders: ['alice', 'carol', 'dave'],
        available: 0,
      });
      expect((await explain('crew', 'sso', undefined, 'bob')).body.reason).toBe('no_seat');
      expect((await explain('crew', 'sso', undefined, 'dave')).body.reason).toBe('allowed');
      const balances = await harness.call('GET', '/v1/customers/crew/balances');
      expect(balances.body.balances[0].balance).toBe(9_000);
    });

    it('counts a re-added user once and refuses a user of another account', async () => {
      const again = await harness.call('POST', '/v1/customers/crew/seats', { user: 'alice' });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ assigned: false, available: 0 });
      await harness.call('POST', '/v1/customers/acme/seats', { user: 'erin' });
      const foreign = await harness.call('POST', '/v1/customers/crew/seats', { user: 'erin' });
      expect(foreign.status).toBe(409);
      expect(foreign.body).toMatchObject({
        code: 'TOLLGATE_ERR_USER_OTHER_ACCOUNT',
        field: 'user',
      });
      const seats = await harness.call('GET', '/v1/customers/crew/seats');
      expect(seats.body.holders).toEqual(['alice', 'carol', 'dave']);
    });

    it('never seats more than the limit when assignments race', async () => {
      await harness.call('POST', '/v1/customers', { id: 'race' });
      await harness.call('POST', '/v1/customers/race/subscriptions', { plan: 'team', quantity: 2 });
      const users = Array.from({ length: 12 }, (_, index) => `racer-${index}`);
      const replies = await Promise.all(
        users.map((user) => harness.call('POST', '/v1/customers/race/seats', { user })),
      );
      expect(replies.filter((reply) => reply.status === 201)).toHaveLength(2);
      expect((await harness.call('GET', '/v1/customers/race/seats')).body.holders).toHaveLength(2);
    });

    it('trials pro from 03-10: pdf on 03-20; none, 3 projects from 03-24 (step 14)', async () => {
      harness.clock.set('2026-03-10T00:00:00Z');
      await harness.call('POST', '/v1/customers', { id: 'tryme' });
      const trial = await harness.call('POST', '/v1/customers/tryme/trials', {
        trial: 'pro_trial',
      });
      expect(trial.body).toMatchObject({ plan: 'pro', ends_at: '2026-03-24T00:00:00.000Z' });
      expect((await explain('tryme', 'export_pdf', '2026-03-20T00:00:00Z')).body).toMatchObject({
        access: true,
        status: 'trialing',
      });
      harness.clock.set('2026-03-24T00:00:00Z');
      expect((await explain('tryme', 'export_pdf')).body).toMatchObject({
        access: false,
        reason: 'no_access',
      });
      expect((await explain('tryme', 'max_projects')).body).toMatchObject({
        limit: 3,
        plan: { plan: 'free' },
      });
    });
  });

  describe(`control plane: entitlement bad input changes nothing (${kind})`, () => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await startStoreHarness(kind, '2026-03-01T00:00:00Z');
    });
    afterAll(() => harness.close());

    it('refuses an unknown time zone naming time_zone, and creates no customer', async () => {
      const reply = await harness.call('POST', '/v1/customers', {
        id: 'zoned',
        time_zone: 'Mars/Olympus',
      });
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ code: 'TOLLGATE_ERR_VALIDATION', field: 'time_zone' });
      expect((await harness.call('GET', '/v1/customers/zoned/balances')).status).toBe(404);
    });

    it('refuses a trial of zero length naming ends_at, and starts none', async () => {
      await harness.call('POST', '/v1/customers', { id: 'brief' });
      const reply = await harness.call('POST', '/v1/customers/brief/trials', {
        trial: 'pro_trial',
        starts_at: '2026-03-05T00:00:00Z',
        ends_at: '2026-03-05T00:00:00Z',
      });
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ code: 'TOLLGATE_ERR_VALIDATION', field: 'ends_at' });
      const explained = await harness.call('GET', '/v1/customers/brief/explain?feature=export_pdf');
      expect(explained.body).toMatchObject({ status: 'none', access: false });
    });

    it('refuses an override rule its feature kind cannot take, naming rule', async () => {
      await harness.call('POST', '/v1/customers', { id: 'ruled' });
      await harness.call('POST', '/v1/customers/ruled/subscriptions', { plan: 'pro' });
      const bodies = [
        { feature: 'export_pdf', access: true, rule: 'sum' },
        { feature: 'max_projects', limit: 5, rule: 'or' },
      ];
      for (const body of bodies) {
        const refused = await harness.call('POST', '/v1/customers/ruled/overrides', body);
        expect([refused.status, refused.body.code, refused.body.field]).toEqual([
          400,
          'TOLLGATE_ERR_VALIDATION',
          'rule',
        ]);
        const query = `feature=${body.feature}`;
        const explained = await harness.call('GET', `/v1/customers/ruled/explain?${query}`);
        expect(explained.body.trace.map((step: { source: string }) => step.source)).toEqual([
          'plan',
        ]);
      }
    });

    it('refuses a second pro trial with TRIAL_USED, writing nothing; a key replays', async () => {
      await harness.call('POST', '/v1/customers', { id: 'again' });
      const first = { trial: 'pro_trial', idempotency_key: 'trial-1' };
      const started = await harness.call('POST', '/v1/customers/again/trials', first);
      expect(started.status).toBe(201);
      expect(started.body).toMatchObject({ plan: 'pro', ends_at: '2026-03-15T00:00:00.000Z' });
      const replayed = await harness.call('POST', '/v1/customers/again/trials', first);
      expect([replayed.status, replayed.body]).toEqual([201, started.body]);

      const second = { trial: 'pro_trial', starts_at: '2026-03-16T00:00:00Z' };
      for (const body of [second, { ...second, idempotency_key: 'trial-2' }]) {
        const refused = await harness.call('POST', '/v1/customers/again/trials', body);
        expect(refused.status).toBe(409);
        expect(refused.body).toMatchObject({ code: 'TOLLGATE_ERR_TRIAL_USED', field: 'trial' });
      }
      const query = 'feature=export_pdf&at=2026-03-20T00:00:00Z';
      const explained = await harness.call('GET', `/v1/customers/again/explain?${query}`);
      expect(explained.body).toMatchObject({ status: 'active', access: false });
      expect(explained.body.plan).toMatchObject({ plan: 'free' });
    });
  });
}
