import { amount, type Answer } from './harness.js';
import { Scenario, count, decision, reason, reasons, repeat, tally } from './scenario.js';
import { runSeatsAndTrial, type TrialReplies } from './quillstone-seats.js';

/** Steps 9–16: free tier, concurrency, metering, seats, trial, idempotency, bad input. */
export async function runLaterSteps(scenario: Scenario, trial: TrialReplies): Promise<void> {
  await runFreeTier(scenario);
  await runConcurrentSpend(scenario);
  await runTokens(scenario);
  await runSeatsAndTrial(scenario, trial);
  await runIdempotency(scenario);
  await runBadInput(scenario);
}

async function subscribe(scenario: Scenario, customer: string, plan: string): Promise<void> {
  await scenario.admin.send('POST', '/v1/customers', { body: { id: customer } });
  await scenario.admin.send('POST', `/v1/customers/${customer}/subscriptions`, {
    body: { plan },
  });
}

async function runFreeTier(scenario: Scenario): Promise<void> {
  await subscribe(scenario, 'free1', 'free');
  await scenario.sync();
  const smart = await repeat(20, () => scenario.ask('free1', 'POST', '/chat/smart', {}));
  const free1 = await scenario.balance('free1');
  scenario.record(
    {
      step: '9',
      request: '20 x free1 POST /chat/smart',
      decision: tally(smart),
      reason: reasons(smart),
      balance: amount(free1.balance),
    },
    [
      ['allowed', count(smart, 200), 20],
      ['balance', free1.balance, 0],
    ],
  );
  const smart21 = await scenario.ask('free1', 'POST', '/chat/smart', {});
  const fast = await scenario.ask('free1', 'POST', '/chat/fast', {});
  scenario.record(
    [
      {
        step: '9',
        request: 'free1 POST /chat/smart (21st)',
        decision: decision(smart21),
        reason: reason(smart21),
        balance: `remaining ${amount(smart21.body.remaining)}`,
      },
      {
        step: '9',
        request: 'free1 POST /chat/fast',
        decision: decision(fast),
        reason: reason(fast),
        balance: `remaining ${amount(fast.body.remaining)}`,
      },
    ],
    [
      ['smart status', smart21.status, 402],
      ['smart reason', smart21.body.reason, 'insufficient_credits'],
      ['smart remaining', smart21.body.remaining, 0],
      ['fast status', fast.status, 402],
      ['fast reason', fast.body.reason, 'insufficient_credits'],
      ['fast remaining', fast.body.remaining, 0],
    ],
  );
}

/** Step 10: 200 requests in flight at once for a balance of 100. */
async function runConcurrentSpend(scenario: Scenario): Promise<void> {
  await subscribe(scenario, 'free2', 'free');
  await scenario.sync();
  const burst = await Promise.all(
    Array.from({ length: 200 }, () => scenario.ask('free2', 'POST', '/chat/fast', {})),
  );
  const free2 = await scenario.balance('free2');
  const debits = (await scenario.ledger('free2')).filter((entry) => entry.kind === 'debit');
  const debited = debits.reduce((sum, entry) => sum + Math.abs(entry.amount), 0);
  scenario.record(
    {
      step: '10',
      request: '200 concurrent free2 POST /chat/fast',
      decision: tally(burst),
      reason: reasons(burst),
      balance: amount(free2.balance),
    },
    [
      ['allowed', count(burst, 200), 100],
      ['denied', count(burst, 402), 100],
      ['balance', free2.balance, 0],
      ['ledger debits', debited, 100],
    ],
  );
}

async function runTokens(scenario: Scenario): Promise<void> {
  const tokens = (customer: string, count: number): Promise<Answer> =>
    scenario.ask(customer, 'POST', '/complete', { tokens: count, prompt: 'summarise' });

  const bolt = await repeat(5, () => tokens('bolt', 500_000));
  const boltUsage = await usage(scenario, 'bolt');
  scenario.record(
    {
      step: '11',
      request: '5 x bolt POST /complete, 500,000 tokens',
      decision: tally(bolt),
      reason: reasons(bolt),
      balance: `used ${amount(boltUsage.used)}`,
    },
    [
      ['allowed', count(bolt, 200), 5],
      ['used', boltUsage.used, 2_500_000],
      ['overage', boltUsage.overage, 500_000],
    ],
  );

  const first = await tokens('free1', 49_000);
  const over = await tokens('free1', 2_000);
  const last = await tokens('free1', 1_000);
  const free1Usage = await usage(scenario, 'free1');
  scenario.record(
    [
      {
        step: '12',
        request: 'free1 POST /complete, 49,000 tokens',
        decision: decision(first),
        reason: reason(first),
        balance: '',
      },
      {
        step: '12',
        request: 'free1 POST /complete, 2,000 tokens',
        decision: decision(over),
        reason: reason(over),
        balance: '',
      },
      {
        step: '12',
        request: 'free1 POST /complete, 1,000 tokens',
        decision: decision(last),
        reason: reason(last),
        balance: `used ${amount(free1Usage.used)}`,
      },
    ],
    [
      ['statuses', [first.status, over.status, last.status], [200, 429, 200]],
      ['reason', over.body.reason, 'limit_exceeded'],
      ['used', free1Usage.used, 50_000],
    ],
  );
}

/** Step 15: a retried request with the same idempotency key is charged once. */
async function runIdempotency(scenario: Scenario): Promise<void> {
  const before = await scenario.balance('acme');
  const headers = { 'idempotency-key': 'evt-1' };
  const first = await scenario.ask('acme', 'POST', '/chat/smart', {}, headers);
  const again = await scenario.ask('acme', 'POST', '/chat/smart', {}, headers);
  const after = await scenario.balance('acme');
  const keyed = (await scenario.ledger('acme')).filter((e) => e.idempotency_key === 'evt-1');
  scenario.record(
    {
      step: '15',
      request: 'acme POST /chat/smart x2, key evt-1',
      decision: `${decision(first)}, ${decision(again)}`,
      reason: reason(again),
      balance: amount(after.balance),
    },
    [
      ['statuses', [first.status, again.status], [200, 200]],
      ['debited', before.balance - after.balance, 5],
      ['ledger credits under evt-1', keyed.reduce((sum, e) => sum + Math.abs(e.amount), 0), 5],
    ],
  );
}

/** Step 16: bad input is refused with a code and changes nothing. */
async function runBadInput(scenario: Scenario): Promise<void> {
  const before = await scenario.balance('acme');
  const usageBefore = await usage(scenario, 'acme');
  const negative = await scenario.ask('acme', 'POST', '/complete', { tokens: -1 });
  const fractional = await scenario.ask('acme', 'POST', '/complete', { tokens: 1.5 });
  const turbo = await scenario.ask('acme', 'POST', '/chat/turbo', {});
  const ghost = await scenario.ask('ghost', 'POST', '/chat/fast', {});
  const after = await scenario.balance('acme');
  const usageAfter = await usage(scenario, 'acme');
  const answers = [negative, fractional, turbo, ghost];
  const labels = [
    'acme tokens -1',
    'acme tokens 1.5',
    'acme POST /chat/turbo',
    'ghost POST /chat/fast',
  ];
  scenario.record(
    answers.map((answer, index) => ({
      step: '16',
      request: labels[index]!,
      decision: decision(answer),
      reason: answer.status === 400 ? `${answer.body.code} (${answer.body.field})` : reason(answer),
      balance: index === answers.length - 1 ? amount(after.balance) : '',
    })),
    [
      ['statuses', answers.map((answer) => answer.status), [400, 400, 403, 403]],
      [
        'quantity codes',
        [negative.body.code, fractional.body.code],
        ['TOLLGATE_ERR_INVALID_QUANTITY', 'TOLLGATE_ERR_INVALID_QUANTITY'],
      ],
      ['quantity field', negative.body.field, 'tokens'],
      [
        'denial reasons',
        [turbo.body.reason, ghost.body.reason],
        ['unknown_feature', 'unknown_customer'],
      ],
      ['balance unchanged', after.balance, before.balance],
      ['usage unchanged', usageAfter.used, usageBefore.used],
    ],
  );
}

async function usage(
  scenario: Scenario,
  customer: string,
): Promise<{ used: number; overage: number }> {
  await scenario.tollgate.flush();
  const answer = await scenario.admin.send(
    'GET',
    `/v1/customers/${customer}/usage?feature=api_tokens`,
  );
  return answer.body as { used: number; overage: number };
}
