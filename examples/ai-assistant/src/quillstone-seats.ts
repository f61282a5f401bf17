import { amount, type Answer } from './harness.js';
import { reason } from './scenario.js';
import type { Scenario } from './scenario.js';

/**
 * Steps 13 and 14: seats on `team` through the control plane's admin API (and `sso` asked
 * of the app for each user, which the runtime decides from the seats in the snapshot),
 * then the rows of the `pro` trial, whose requests `driveTrial` made at their instants.
 */
export async function runSeatsAndTrial(scenario: Scenario, trial: TrialReplies): Promise<void> {
  await runSeats(scenario);
  recordTrial(scenario, trial);
}

async function runSeats(scenario: Scenario): Promise<void> {
  const admin = scenario.admin;
  await admin.send('POST', '/v1/customers', { body: { id: 'crew' } });
  await admin.send('POST', '/v1/customers/crew/subscriptions', {
    body: { plan: 'team', quantity: 3 },
  });
  const seat = (user: string) => admin.send('POST', '/v1/customers/crew/seats', { body: { user } });
  const first = [await seat('alice'), await seat('bob'), await seat('carol')];
  const refused = await seat('dave');
  await admin.send('DELETE', '/v1/customers/crew/seats/bob');
  const dave = await seat('dave');
  await scenario.sync();
  const sso = (user: string) =>
    scenario.ask('crew', 'GET', '/sso', undefined, { 'tollgate-user': user });
  const [bob, daveSso] = [await sso('bob'), await sso('dave')];
  const explained = await admin.send('GET', '/v1/customers/crew/explain?feature=sso&user=bob');
  const credits = await scenario.balance('crew');
  scenario.record(
    [
      {
        step: '13',
        request: 'crew seats alice, bob, carol, dave',
        decision: `${first.map((reply) => reply.status).join(', ')}, ${refused.status}`,
        reason: String(refused.body?.code ?? ''),
        balance: amount(credits.balance),
      },
      {
        step: '13',
        request: 'release bob, seat dave; sso bob, dave',
        decision: `${dave.status}; sso ${bob.status}, ${daveSso.status}`,
        reason: `${reason(bob)}, ${reason(daveSso)}`,
        balance: amount(credits.balance),
      },
    ],
    [
      ['first three seated', first.map((reply) => reply.status), [201, 201, 201]],
      ['dave refused', refused.body?.code, 'TOLLGATE_ERR_NO_SEAT_AVAILABLE'],
      ['dave seated after bob left', dave.status, 201],
      ['sso for bob, dave', [bob.status, daveSso.status], [403, 200]],
      ['sso reasons', [reason(bob), reason(daveSso)], ['no_seat', 'allowed']],
      ['explain for bob', explained.body.reason, 'no_seat'],
      ['pooled credits', credits.balance, 9_000],
    ],
  );
}

/** What the app answered tryme during and after its trial (step 14). */
export interface TrialReplies {
  during: Answer;
  after: Answer;
  threeProjects: Answer;
  fourProjects: Answer;
}

/**
 * Step 14 as live traffic: the clock is moved to 2026-03-10 (the trial starts), then to
 * 03-20 and 03-24, and at each the app decides tryme's requests from the snapshot of that
 * instant. It runs while the demo's clock is still in March (before step 8 moves it to
 * April); its rows are recorded later, in scenario order, by `runSeatsAndTrial`.
 */
export async function driveTrial(scenario: Scenario): Promise<TrialReplies> {
  const { admin, clock } = scenario;
  clock.set('2026-03-10T00:00:00Z');
  await admin.send('POST', '/v1/customers', { body: { id: 'tryme' } });
  await admin.send('POST', '/v1/customers/tryme/trials', {
    body: { trial: 'pro_trial', idempotency_key: 'tryme-trial' },
  });

  clock.set('2026-03-20T00:00:00Z');
  await scenario.sync();
  const during = await scenario.ask('tryme', 'GET', '/export/pdf');

  clock.set('2026-03-24T00:00:00Z');
  await scenario.sync();
  const after = await scenario.ask('tryme', 'GET', '/export/pdf');
  const threeProjects = await scenario.ask('tryme', 'POST', '/projects', { project_count: 3 });
  const fourProjects = await scenario.ask('tryme', 'POST', '/projects', { project_count: 4 });
  return { during, after, threeProjects, fourProjects };
}

function recordTrial(scenario: Scenario, replies: TrialReplies): void {
  const { during, after, threeProjects, fourProjects } = replies;
  const limit = fourProjects.body?.limit;
  scenario.record(
    [
      {
        step: '14',
        request: 'tryme export_pdf at 2026-03-20',
        decision: during.status < 400 ? 'allowed' : 'denied',
        reason: reason(during),
        balance: '',
      },
      {
        step: '14',
        request: 'tryme export_pdf, max_projects at 03-24',
        decision: after.status < 400 ? 'allowed' : 'denied',
        reason: `${reason(after)}; limit ${limit}`,
        balance: '',
      },
    ],
    [
      ['export_pdf on 03-20', during.status, 200],
      ['export_pdf from 03-24', [after.status, reason(after)], [403, 'no_access']],
      [
        'max_projects from 03-24: 3 allowed, 4 denied, limit 3',
        [threeProjects.status, fourProjects.status, reason(fourProjects), limit],
        [201, 429, 'limit_exceeded', 3],
      ],
    ],
  );
}
