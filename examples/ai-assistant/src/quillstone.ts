import { amount } from './harness.js';
import { runLaterSteps } from './quillstone-later.js';
import { runReserveSettle } from './quillstone-reserve.js';
import { driveTrial } from './quillstone-seats.js';
import {
  Scenario,
  count,
  decision,
  reason,
  reasons,
  remainingOf,
  repeat,
  tally,
  type StepResult,
} from './scenario.js';
import type { DemoServers } from './servers.js';

/**
 * Drives Quillstone's timeline (shared/scenarios/quillstone.md, steps 1–16, then 17: an
 * AI call reserved and settled) through real HTTP: admin calls to the control plane,
 * customer requests to the example app. Every expected number of the scenario is checked;
 * a row lists what differed.
 */
export async function runQuillstone(
  servers: DemoServers,
  onResult: (result: StepResult) => void = () => {},
): Promise<StepResult[]> {
  const scenario = new Scenario(
    servers.controlPlaneUrl,
    servers.adminKey,
    servers.appUrl,
    servers.clock,
    servers.tollgate,
    onResult,
  );
  await runSubscriptions(scenario);
  await runCredits(scenario);
  // Step 14's requests are made while the clock is in March, at their own instants.
  const trial = await driveTrial(scenario);
  await runRollover(scenario);
  await runLaterSteps(scenario, trial);
  await runReserveSettle(scenario);
  return scenario.results;
}

/** Steps 1–3: pinned plan versions and the entitlements they give. */
async function runSubscriptions(scenario: Scenario): Promise<void> {
  const { admin, clock } = scenario;

  // acme subscribes before version 2 of pro exists, so it is pinned to version 1.
  clock.set('2026-03-01T00:00:00Z');
  await admin.send('POST', '/v1/customers', { body: { id: 'acme' } });
  const acmeSub = await admin.send('POST', '/v1/customers/acme/subscriptions', {
    body: { plan: 'pro' },
  });
  const acme = await scenario.balance('acme');
  scenario.record(
    {
      step: '1',
      request: 'acme subscribes to pro',
      decision: `pro v${acmeSub.body.version}`,
      reason: '-',
      balance: amount(acme.balance),
    },
    [
      ['plan version', acmeSub.body.version, 1],
      ['balance', acme.balance, 2000],
      ['monthly grant expiry', acme.grants[0]?.expires_at, '2026-04-01T00:00:00.000Z'],
    ],
  );

  // Version 2 is published at noon; bolt subscribes after it and gets it.
  clock.set('2026-03-01T12:00:00Z');
  await admin.send('POST', '/v1/customers', { body: { id: 'bolt' } });
  const boltSub = await admin.send('POST', '/v1/customers/bolt/subscriptions', {
    body: { plan: 'pro' },
  });
  const bolt = await scenario.balance('bolt');
  scenario.record(
    {
      step: '2',
      request: 'bolt subscribes to pro',
      decision: `pro v${boltSub.body.version}`,
      reason: '-',
      balance: amount(bolt.balance),
    },
    [
      ['plan version', boltSub.body.version, 2],
      ['balance', bolt.balance, 2500],
    ],
  );

  await scenario.sync();
  const pdf = await scenario.ask('acme', 'GET', '/export/pdf');
  scenario.record(
    {
      step: '3',
      request: 'acme GET /export/pdf',
      decision: decision(pdf),
      reason: reason(pdf),
      balance: '-',
    },
    [['status', pdf.status, 200]],
  );
  const fifty = await scenario.ask('acme', 'POST', '/projects', { project_count: 50 });
  const fiftyOne = await scenario.ask('acme', 'POST', '/projects', { project_count: 51 });
  scenario.record(
    [
      {
        step: '3',
        request: 'acme POST /projects, count 50',
        decision: decision(fifty),
        reason: reason(fifty),
        balance: 'limit 50',
      },
      {
        step: '3',
        request: 'acme POST /projects, count 51',
        decision: decision(fiftyOne),
        reason: reason(fiftyOne),
        balance: `limit ${amount(fiftyOne.body.limit)}`,
      },
    ],
    [
      ['status for 50', fifty.status, 201],
      ['status for 51', fiftyOne.status, 429],
      ['limit', fiftyOne.body.limit, 50],
    ],
  );
  const many = await scenario.ask('bolt', 'POST', '/projects', { project_count: 100_000 });
  scenario.record(
    {
      step: '3',
      request: 'bolt POST /projects, count 100,000',
      decision: decision(many),
      reason: reason(many),
      balance: 'limit unlimited',
    },
    [['status', many.status, 201]],
  );
}

/** Steps 4–7: grants and burn order. */
async function runCredits(scenario: Scenario): Promise<void> {
  const { admin, clock } = scenario;

  clock.set('2026-03-02T00:00:00Z');
  await admin.send('POST', '/v1/customers/acme/grants', {
    body: {
      currency: 'ai_credits',
      amount: 500,
      category: 'promotional',
      expires_at: '2026-03-31T00:00:00Z',
      idempotency_key: 'promo-march',
    },
  });
  let acme = await scenario.balance('acme');
  scenario.record(
    {
      step: '4',
      request: 'grant acme 500 promotional',
      decision: 'granted',
      reason: '-',
      balance: amount(acme.balance),
    },
    [['balance', acme.balance, 2500]],
  );

  // 100 smart chats burn the promotional credits first.
  clock.set('2026-03-03T00:00:00Z');
  await scenario.sync();
  const smart = await repeat(100, () =>
    scenario.ask('acme', 'POST', '/chat/smart', { prompt: 'hi' }),
  );
  acme = await scenario.balance('acme');
  scenario.record(
    {
      step: '5',
      request: '100 x acme POST /chat/smart',
      decision: tally(smart),
      reason: reasons(smart),
      balance: amount(acme.balance),
    },
    [
      ['allowed', count(smart, 200), 100],
      ['balance', acme.balance, 2000],
      ['promotional remaining', remainingOf(acme, 'promotional'), 0],
      ['monthly remaining', remainingOf(acme, 'paid'), 2000],
    ],
  );

  await admin.send('POST', '/v1/customers/acme/addons', {
    body: { addon: 'credit_pack_1000', idempotency_key: 'pack-1' },
  });
  acme = await scenario.balance('acme');
  scenario.record(
    {
      step: '6',
      request: 'acme buys credit_pack_1000',
      decision: 'granted',
      reason: '-',
      balance: amount(acme.balance),
    },
    [
      ['balance', acme.balance, 3000],
      ['pack remaining', remainingOf(acme, 'paid', '2027-03-03T00:00:00.000Z'), 1000],
    ],
  );

  // Images draw from the monthly grant, which expires before the pack.
  clock.set('2026-03-04T00:00:00Z');
  await scenario.sync();
  const images = await repeat(60, () =>
    scenario.ask('acme', 'POST', '/images', { prompt: 'a quill' }),
  );
  acme = await scenario.balance('acme');
  scenario.record(
    {
      step: '7',
      request: '60 x acme POST /images',
      decision: tally(images),
      reason: reasons(images),
      balance: amount(acme.balance),
    },
    [
      ['allowed', count(images, 200), 60],
      ['balance', acme.balance, 1800],
      ['monthly remaining', remainingOf(acme, 'paid', '2026-04-01T00:00:00.000Z'), 800],
      ['pack remaining', remainingOf(acme, 'paid', '2027-03-03T00:00:00.000Z'), 1000],
    ],
  );
}

/** Step 8: the period rolls over. */
async function runRollover(scenario: Scenario): Promise<void> {
  const { clock } = scenario;
  // The period rolls over: the old monthly grant's remainder expires, a new one arrives.
  clock.set('2026-04-01T00:00:00Z');
  const acme = await scenario.balance('acme');
  const expiries = (await scenario.ledger('acme')).filter((entry) => entry.kind === 'expiry');
  scenario.record(
    {
      step: '8',
      request: 'clock to 2026-04-01T00:00Z',
      decision: 'period rolled over',
      reason: '-',
      balance: amount(acme.balance),
    },
    [
      ['balance', acme.balance, 3000],
      [
        'expiry entries',
        expiries.map((entry) => [Math.abs(entry.amount), entry.at]),
        [[800, '2026-04-01T00:00:00.000Z']],
      ],
    ],
  );
}
