import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { distPath } from '../lib/child.js';
import type { Framework } from '../servers/apps.js';
import type { ServerReply } from '../servers/http-server.js';

/** A hello-world server running in a child process, driven over IPC. */
export class ServerProcess {
  readonly name: string;
  readonly port: number;
  readonly #child: ChildProcess;

  private constructor(name: string, port: number, child: ChildProcess) {
    this.name = name;
    this.port = port;
    this.#child = child;
  }

  /** Resolves null when the variant cannot run (no guard for that framework yet). */
  static async start(
    framework: Framework,
    variant: 'bare' | 'guarded',
    snapshotPath: string,
  ): Promise<ServerProcess | null> {
    const child = fork(distPath('servers/http-server.js'), [framework, variant, snapshotPath], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const reply = await nextReply(child, 30_000);
    const name = `${framework} ${variant}`;
    if (reply.type === 'ready') return new ServerProcess(name, reply.port, child);
    child.kill();
    if (reply.type === 'unavailable') return null;
    throw new Error(`${name} answered ${reply.type} at start`);
  }

  async mark(): Promise<void> {
    this.#child.send({ type: 'mark' });
    await nextReply(this.#child, 10_000);
  }

  async readCpu(): Promise<{ userUs: number; systemUs: number }> {
    this.#child.send({ type: 'read' });
    const reply = await nextReply(this.#child, 10_000);
    if (reply.type !== 'cpu') throw new Error(`${this.name} answered ${reply.type} to read`);
    return reply;
  }

  /** Asks the server to close; kills it when it has not exited within five seconds. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.send({ type: 'stop' });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

function nextReply(child: ChildProcess, timeoutMs: number): Promise<ServerReply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error('the server process did not answer'));
    }, timeoutMs);
    const onMessage = (message: ServerReply) => {
      cleanup();
      resolve(message);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`the server process exited with ${code}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

async function get(port: number, customer: string | null) {
  const headers: Record<string, string> =
    customer === null ? {} : { 'tollgate-customer': customer };
  const response = await request(`http://127.0.0.1:${port}/hello`, { headers });
  return { status: response.statusCode, body: await response.body.text() };
}

/**
 * The answers before the timing: both variants say hello to a known customer, and the
 * guarded one is really guarding (an unknown customer is refused, a missing one too).
 */
export async function verifyServer(server: ServerProcess, guarded: boolean): Promise<void> {
  const expect = (what: string, ok: boolean, detail: unknown) => {
    if (!ok) throw new Error(`${server.name}: ${what}: ${JSON.stringify(detail)}`);
  };
  const allowed = await get(server.port, 'cus_0000042');
  expect('hello for a known customer', allowed.status === 200 && allowed.body === 'hello', allowed);
  if (!guarded) return;
  const stranger = await get(server.port, 'cus_nobody');
  const refused = stranger.status === 403 && stranger.body.includes('unknown_customer');
  expect('403 unknown_customer for a stranger', refused, stranger);
  const anonymous = await get(server.port, null);
  expect('401 without a customer', anonymous.status === 401, anonymous);
}
