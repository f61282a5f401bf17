import type { ManualClock } from '@tollgate/core';
import type { Tollgate } from '@tollgate/runtime';
import { HttpClient, type Answer } from './harness.js';

/** One printed line of the demo, with the checks that decide whether it matched. */
export interface StepResult {
  step: string;
  request: string;
  decision: string;
  reason: string;
  balance: string;
  failures: string[];
}

export type Check = [label: string, actual: unknown, expected: unknown];
export type Row = Omit<StepResult, 'failures'>;

export interface Balance {
  balance: number;
  grants: { category: string; amount: number; remaining: number; expires_at: string | null }[];
}

export interface LedgerEntry {
  kind: string;
  amount: number;
  at: string;
  idempotency_key?: string | null;
  feature?: string | null;
}

/** What the scenario steps share: both servers' clients, the clock and the runtime. */
export class Scenario {
  readonly results: StepResult[] = [];
  readonly admin: HttpClient;
  readonly app: HttpClient;

  constructor(
    controlPlaneUrl: string,
    adminKey: string,
    appUrl: string,
    readonly clock: ManualClock,
    readonly tollgate: Tollgate,
    private readonly onResult: (result: StepResult) => void,
  ) {
    this.admin = new HttpClient(controlPlaneUrl, { authorization: `Bearer ${adminKey}` });
    this.app = new HttpClient(appUrl);
  }

  /**
   * Prints one row per request; the checks belong to the group and their failures are
   * listed under its last row.
   */
  record(rows: Row | Row[], checks: Check[]): void {
    const group = Array.isArray(rows) ? rows : [rows];
    const failures = checks
      .filter(([, actual, expected]) => JSON.stringify(actual) !== JSON.stringify(expected))
      .map(
        ([label, actual, expected]) => `${label}: expected ${show(expected)}, got ${show(actual)}`,
      );
    group.forEach((row, index) => {
      const result = { ...row, failures: index === group.length - 1 ? failures : [] };
      this.results.push(result);
      this.onResult(result);
    });
  }

  /** A customer's request to the example app; the customer travels in a header. */
  ask(
    customer: string,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    return this.app.send(method, path, {
      body,
      headers: { 'tollgate-customer': customer, ...headers },
    });
  }

  /** The control plane's balance, after the runtime has delivered every pending event. */
  async balance(customer: string, currency = 'ai_credits'): Promise<Balance> {
    await this.tollgate.flush();
    const answer = await this.admin.send('GET', `/v1/customers/${customer}/balances`);
    const balances = answer.body.balances as (Balance & { currency: string })[];
    const found = balances.find((entry) => entry.currency === currency);
    if (found === undefined) throw new Error(`no ${currency} balance for ${customer}`);
    return found;
  }

  async ledger(customer: string): Promise<LedgerEntry[]> {
    await this.tollgate.flush();
    const answer = await this.admin.send('GET', `/v1/customers/${customer}/ledger?limit=1000`);
    return answer.body.entries as LedgerEntry[];
  }

  /** Pulls the newest snapshot into the runtime, as a push or poll would in production. */
  async sync(): Promise<void> {
    await this.tollgate.refresh();
  }
}

export function decision(answer: Answer): string {
  return answer.status < 400 ? `${answer.status} allowed` : `${answer.status} denied`;
}

export function reason(answer: Answer): string {
  return answer.status < 400 ? 'allowed' : String(answer.body?.reason ?? answer.body?.code);
}

export function count(answers: Answer[], status: number): number {
  return answers.filter((answer) => answer.status === status).length;
}

/** "100 allowed, 100 denied": how a batch of answers split. */
export function tally(answers: Answer[]): string {
  const allowed = answers.filter((answer) => answer.status < 400).length;
  const denied = answers.length - allowed;
  return denied === 0 ? `${allowed} allowed` : `${allowed} allowed, ${denied} denied`;
}

export function reasons(answers: Answer[]): string {
  return [...new Set(answers.map(reason))].join(', ');
}

/** Sends `times` requests one after another. */
export async function repeat(times: number, send: () => Promise<Answer>): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let index = 0; index < times; index += 1) answers.push(await send());
  return answers;
}

export function remainingOf(balance: Balance, category: string, expiresAt?: string): number {
  return balance.grants
    .filter((grant) => grant.category === category)
    .filter((grant) => expiresAt === undefined || grant.expires_at === expiresAt)
    .reduce((sum, grant) => sum + grant.remaining, 0);
}

function show(value: unknown): string {
  return JSON.stringify(value);
}
