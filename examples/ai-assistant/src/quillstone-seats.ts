import { amount } from './harness.js';
import { reason } from './scenario.js';
import type { Scenario } from './scenario.js';

/**
 * Steps 13 and 14 through the control plane's admin API: seats on `team` (and `sso` asked
 * of the app for each user, which the runtime decides from the seats in the snapshot), and
 * the `pro` trial resolved at instants on both sides of its end with `explain`.
 */
export async function runSeatsAndTrial(scenario: Scenario): Promise<void> {
  await runSeats(scenario);
  await runTrial(scenario);
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

async function runTrial(scenario: Scenario): Promise<void> {
  const admin = scenario.admin;
  await admin.send('POST', '/v1/customers', { body: { id: 'tryme' } });
  await admin.send('POST', '/v1/customers/tryme/trials', {
    body: { trial: 'pro_trial', starts_at: '2026-03-10T00:00:00Z' },
  });
  const explain = (feature: string, at: string) =>
    admin.send('GET', `/v1/customers/tryme/explain?feature=${feature}&at=${at}`);
  const during = await explain('export_pdf', '2026-03-20T00:00:00Z');
  const after = await explain('export_pdf', '2026-03-24T00:00:00Z');
  const projects = await explain('max_projects', '2026-03-24T00:00:00Z');
  scenario.record(
    [
      {
        step: '14',
        request: 'tryme export_pdf at 2026-03-20',
        decision: during.body.access ? 'allowed' : 'denied',
        reason: during.body.reason,
        balance: '',
      },
      {
        step: '14',
        request: 'tryme export_pdf, max_projects at 03-24',
        decision: after.body.access ? 'allowed' : 'denied',
        reason: `${after.body.reason}; limit ${projects.body.limit}`,
        balance: '',
      },
    ],
    [
      ['export_pdf on 03-20', during.body.access, true],
      ['export_pdf from 03-24', after.body.access, false],
      ['max_projects from 03-24', projects.body.limit, 3],
    ],
  );
}
