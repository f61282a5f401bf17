import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const catalogPath = fileURLToPath(
  new URL('../../examples/ai-assistant/catalog.yaml', import.meta.url),
);
export const adminKey = 'tg_admin_process';

/** A child process started from a script in this folder; killed by its pid. */
export interface Child {
  process: ChildProcess;
  /** Resolves with the first stdout line, printed or still to come, that starts with `prefix`. */
  line(prefix: string): Promise<string>;
  /** Resolves with the first stdout line, printed or still to come, that `test` accepts. */
  lineWhere(test: (line: string) => boolean): Promise<string>;
  /** Sends SIGTERM, so the child can finish (print a summary, flush), and awaits its exit. */
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export function startChild(script: string, env: Record<string, string>): Child {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = spawn(process.execPath, [path], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  const printed: string[] = [];
  const waiters: Array<{ test: (line: string) => boolean; resolve: (line: string) => void }> = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      printed.push(line);
      for (const waiter of waiters.filter((w) => w.test(line))) waiter.resolve(line);
    }
  });
  const lineWhere = (test: (line: string) => boolean) =>
    new Promise<string>((resolve, reject) => {
      const seen = printed.find(test);
      if (seen !== undefined) return resolve(seen);
      waiters.push({ test, resolve });
      child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    });
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = once(child, 'exit');
    process.kill(child.pid, name);
    await exited;
  };
  return {
    process: child,
    line: (prefix) => lineWhere((line) => line.startsWith(prefix)),
    lineWhere,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
  };
}

/** Starts a control-plane process and resolves with its base URL. */
export async function startControlPlane(
  env: Record<string, string>,
): Promise<Child & { url: string }> {
  const child = startChild('./control-plane.mjs', { TG_CATALOG: catalogPath, ...env });
  const line = await child.line('listening ');
  return { ...child, url: line.slice('listening '.length).trim() };
}

/** Sends one admin JSON request; throws on a status of 300 or more. */
export async function admin(url: string, method: string, path: string, body?: unknown) {
  const response = await fetch(url + path, {
    method,
    headers: {
      authorization: `Bearer ${adminKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}
