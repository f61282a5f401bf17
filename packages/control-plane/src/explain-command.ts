import type { Command } from 'commander';

/**
 * `tollgate explain <customer> <feature> [--at <time>]`: asks a running control plane
 * (`GET /v1/customers/:id/explain`) with the admin key from `TOLLGATE_ADMIN_KEY`, so that
 * the answer is the server's own resolution, with its catalog and its clock, and the CLI
 * never opens a database another process is writing.
 */
export function registerExplainCommand(program: Command): void {
  program
    .command('explain')
    .description("explain how a customer's feature resolves, source by source")
    .argument('<customer>', 'customer id')
    .argument('<feature>', 'feature key')
    .option('--at <time>', 'an RFC 3339 instant; now by default')
    .option('--user <user>', 'a user, to say whether a seat-requiring feature is theirs')
    .option('--url <url>', 'control-plane base URL', 'http://127.0.0.1:4100')
    .option('--json', 'print the JSON answer')
    .action(async (customer: string, feature: string, options: ExplainOptions) => {
      const key = process.env.TOLLGATE_ADMIN_KEY;
      if (!key) throw new Error('set TOLLGATE_ADMIN_KEY to explain');
      const query = new URLSearchParams({ feature });
      if (options.at !== undefined) query.set('at', options.at);
      if (options.user !== undefined) query.set('user', options.user);
      const url = `${options.url}/v1/customers/${encodeURIComponent(customer)}/explain?${query}`;
      const response = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
      const body = (await response.json()) as ExplainBody & { code?: string; message?: string };
      if (!response.ok) throw new Error(`${body.code ?? response.status}: ${body.message ?? ''}`);
      process.stdout.write(options.json ? `${JSON.stringify(body, null, 2)}\n` : render(body));
    });
}

interface ExplainOptions {
  at?: string;
  user?: string;
  url: string;
  json?: boolean;
}

interface ExplainBody {
  customer: string;
  feature: string;
  at: string;
  status: string;
  access: boolean;
  limit: number | null;
  used: number | null;
  reason: string;
  winner: string | null;
  next_change_at: string | null;
  trace: {
    source: string;
    name: string;
    rule: string;
    active: boolean;
    limit_after: number | null;
    access_after: boolean;
    note: string;
  }[];
}

/** One line for the answer, one per source, and the next change. */
export function render(body: ExplainBody): string {
  const limit = !body.access ? 'no access' : body.limit === null ? 'unlimited' : body.limit;
  const used = body.used === null ? '' : `, used ${body.used}`;
  const lines = [
    `${body.customer} ${body.feature} at ${body.at} (${body.status}): ${limit}${used}; ` +
      `${body.reason}, decided by ${body.winner ?? 'nothing'}`,
  ];
  for (const step of body.trace) {
    const value = !step.access_after ? 'no access' : (step.limit_after ?? 'unlimited');
    const mark = step.active ? '+' : ' ';
    lines.push(`  ${mark} ${step.source} ${step.name} (${step.rule}) → ${value}  ${step.note}`);
  }
  lines.push(`  next change: ${body.next_change_at ?? 'none'}`);
  return `${lines.join('\n')}\n`;
}
