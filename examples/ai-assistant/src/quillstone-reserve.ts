import { amount, type Answer } from './harness.js';
import { Scenario, decision, reason } from './scenario.js';

const prompt = 'Outline chapter one of a novel about a stone quill';
const maxTokens = 16;
const creditsPerToken = 5;

/**
 * Step 17: an AI call whose cost is known only after it finishes. The OpenAI-compatible
 * route holds the prompt's tokens plus `max_tokens` of `chat.smart` before the model
 * runs, and settles the tokens the reply used: at once for a plain reply, at the last
 * event for a stream. Each call leaves one debit of exactly what it used.
 */
export async function runReserveSettle(scenario: Scenario): Promise<void> {
  const body = { model: 'smart', messages: [{ role: 'user', content: prompt }] };
  const plain = await call(scenario, { ...body, max_tokens: maxTokens });
  const streamed = await call(scenario, { ...body, max_tokens: maxTokens, stream: true });
  const streamedUsage = lastUsage(streamed.answer.body);
  const row = (label: string, answer: Answer, held: number, used: number, after: number) => ({
    step: '17',
    request: `acme POST /v1/chat/completions${label}`,
    decision: decision(answer),
    reason: `${reason(answer)}; held ${held}, settled ${used} tokens`,
    balance: amount(after),
  });
  const held = plain.answer.body.usage.prompt_tokens + maxTokens;
  scenario.record(
    [
      row('', plain.answer, held, plain.answer.body.usage.total_tokens, plain.after),
      row(', stream', streamed.answer, held, streamedUsage.total_tokens, streamed.after),
    ],
    [
      ['statuses', [plain.answer.status, streamed.answer.status], [200, 200]],
      ['prompt tokens', plain.answer.body.usage.prompt_tokens, 10],
      ['tokens used', [plain.answer.body.usage.total_tokens, streamedUsage.total_tokens], [22, 22]],
      ['debits', [plain.debits, streamed.debits], [[-110], [-110]]],
      ['balance', [plain.after, streamed.after], [2885, 2775]],
      ['charged per token', (plain.before - plain.after) / 22, creditsPerToken],
    ],
  );
}

async function call(scenario: Scenario, body: Record<string, unknown>) {
  const before = (await scenario.balance('acme')).balance;
  const entriesBefore = (await scenario.ledger('acme')).length;
  const answer = await scenario.ask('acme', 'POST', '/v1/chat/completions', body);
  const after = (await scenario.balance('acme')).balance;
  const entries = (await scenario.ledger('acme')).slice(entriesBefore);
  const debits = entries.filter((entry) => entry.kind === 'debit').map((entry) => entry.amount);
  return { answer, before, after, debits };
}

/** The `usage` member of a streamed completion's last chunk that carries one. */
function lastUsage(text: string): { total_tokens: number } {
  const chunks = text
    .split('\n\n')
    .filter((event) => event.startsWith('data: {'))
    .map((event) => JSON.parse(event.slice('data: '.length)));
  return chunks.reverse().find((chunk) => chunk.usage !== null)?.usage ?? { total_tokens: -1 };
}
