import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { attachTollgate, channelNames, createTollgate } from '@tollgate/runtime';
import type { Tollgate, TollgateShare } from '@tollgate/runtime';
import { admin, startControlPlane } from './processes/spawn.js';
import type { Child } from './processes/spawn.js';

const directory = mkdtempSync(join(tmpdir(), 'tollgate-threads-'));
const children: Child[] = [];
const runtimes: Tollgate[] = [];
const threads: Thread[] = [];

afterEach(async () => {
  await Promise.all(threads.splice(0).map((thread) => thread.worker.terminate()));
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.close().catch(() => undefined)));
});

afterAll(async () => {
  for (const child of children) await child.kill();
  rmSync(directory, { recursive: true, force: true });
});

interface Reply {
  ok: boolean;
  value?: any;
  code?: string;
  field?: string;
}

/** A worker thread attached to `share`, driven one command at a time. */
class Thread {
  readonly worker: Worker;
  readonly #replies: ((reply: Reply) => void)[] = [];
  /** The worker's first message, once it has attached. */
  readonly ready: Promise<Reply>;

  constructor(share: TollgateShare, options: object = {}) {
    const script = new URL('./processes/thread-runtime.mjs', import.meta.url);
    const workerData = { share, options };
    this.worker = new Worker(script, { workerData, transferList: [share.port] });
    this.worker.on('message', (reply: Reply) => this.#replies.shift()?.(reply));
    this.ready = this.next();
  }

  next(): Promise<Reply> {
    return new Promise((resolve) => this.#replies.push(resolve));
  }

  ask(command: string, args: object = {}): Promise<Reply> {
    const reply = this.next();
    this.worker.postMessage({ command, args });
    return reply;
  }

  async value(command: string, args: object = {}): Promise<any> {
    const reply = await this.ask(command, args);
    if (!reply.ok) throw new Error(`${command}: ${reply.code}`);
    return reply.value;
  }
}

let planeUrl = '';

async function plane(): Promise<string> {
  if (planeUrl !== '') return planeUrl;
  const started = await startControlPlane({ TG_DATABASE: join(directory, 'tollgate.sqlite') });
  children.push(started);
  planeUrl = started.url;
  return planeUrl;
}

/** A customer on the free plan with 1,000 ai_credits: its 100 and a grant of 900. */
async function customerWith1000(id: string): Promise<void> {
  const url = await plane();
  await admin(url, 'POST', '/v1/customers', { id });
  await admin(url, 'POST', `/v1/customers/${id}/subscriptions`, { plan: 'free' });
  await admin(url, 'POST', `/v1/customers/${id}/grants`, {
    currency: 'ai_credits',
    amount: 900,
    category: 'paid',
    idempotency_key: `${id}-grant-900`,
  });
}

async function balanceOf(id: string): Promise<number> {
  const body = await admin(await plane(), 'GET', `/v1/customers/${id}/balances`);
  return body.balances[0].balance;
}

async function mainRuntime(extra: object = {}): Promise<Tollgate> {
  const runtime = await createTollgate({
    controlPlaneUrl: await plane(),
    apiKey: 'tg_runtime_process',
    threads: true,
    batch: { maxEvents: 50, maxDelayMs: 10 },
    refreshIntervalMs: 0,
    ...extra,
  });
  runtimes.push(runtime);
  return runtime;
}

async function startThreads(runtime: Tollgate, count: number, options = {}): Promise<Thread[]> {
  const started = Array.from({ length: count }, () => new Thread(runtime.share(), options));
  threads.push(...started);
  for (const thread of started) expect((await thread.ready).value).toBe('ready');
  return started;
}

describe('worker threads sharing one runtime', () => {
  it('allows exactly 1,000 credits to 4 workers and the main thread; balance 0', async () => {
    await customerWith1000('threaded');
    const runtime = await mainRuntime();
    const workers = await startThreads(runtime, 4);
    const args = { customer: 'threaded', feature: 'chat.fast' };
    const racing = workers.map((thread) => thread.value('consumeUntilDenied', args));
    let mainAllowed = 0;
    while (runtime.consume('threaded', 'chat.fast').allowed) mainAllowed += 1;
    const results = await Promise.all(racing);

    const total = results.reduce((sum, result) => sum + result.allowed, mainAllowed);
    expect(total).toBe(1000);
    expect(results.map((result) => result.reasonName)).toEqual(
      Array(4).fill('insufficient_credits'),
    );
    // Each thread keys its usage events with a runtime id of its own.
    expect(new Set(results.map((result) => result.runtimeId)).size).toBe(4);
    await runtime.flush();
    expect(await balanceOf('threaded')).toBe(0);
    expect(runtime.usageStats).toMatchObject({ eventsQueued: 1000, eventsAccepted: 1000 });
  });

  it('carries every thread’s uses over snapshot swaps made in the middle of the run', async () => {
    await customerWith1000('swapped');
    const runtime = await mainRuntime();
    const loaded: number[] = [];
    const onLoaded = (message: unknown) => loaded.push((message as { version: number }).version);
    subscribe(channelNames.snapshotLoaded, onLoaded);
    const workers = await startThreads(runtime, 3);
    const args = { customer: 'swapped', feature: 'chat.fast', pauseMs: 2 };
    let running = true;
    const racing = Promise.all(workers.map((thread) => thread.value('consumeUntilDenied', args)));
    void racing.finally(() => (running = false));
    // Reported usage moves the watermark, so each refresh brings a newer snapshot.
    while (running) {
      await runtime.refresh();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const results = await racing;
    unsubscribe(channelNames.snapshotLoaded, onLoaded);

    expect(results.reduce((sum, result) => sum + result.allowed, 0)).toBe(1000);
    expect(loaded.length).toBeGreaterThanOrEqual(3);
    await runtime.flush();
    expect(await balanceOf('swapped')).toBe(0);
  });

  it('settles a worker’s hold placed again by a swap (90 held, +1, 4 charged: 97)', async () => {
    const url = await plane();
    await admin(url, 'POST', '/v1/customers', { id: 'reserver' });
    await admin(url, 'POST', '/v1/customers/reserver/subscriptions', { plan: 'free' });
    const runtime = await mainRuntime();
    const [worker] = await startThreads(runtime, 1);
    const hold = { name: 'r1', customer: 'reserver', feature: 'chat.fast', estimate: 10 };
    expect(await worker!.value('reserve', hold)).toMatchObject({ allowed: true, remaining: 90 });
    // The main thread sees the worker's hold at once.
    expect(runtime.check('reserver', 'chat.fast', 91).reasonName).toBe('insufficient_credits');

    // A new snapshot version while the hold is live: the hold is placed again in it.
    await admin(url, 'POST', '/v1/customers/reserver/grants', {
      currency: 'ai_credits',
      amount: 0 + 1,
      category: 'paid',
      idempotency_key: 'reserver-plus-1',
    });
    const before = runtime.snapshotVersion;
    expect(await runtime.refresh()).toBe(true);
    expect(runtime.snapshotVersion).toBeGreaterThan(before);
    expect(runtime.check('reserver', 'chat.fast', 1)).toMatchObject({ remaining: 91 });

    const settled = { name: 'r1', actual: 4 };
    expect(await worker!.value('settle', settled)).toMatchObject({
      outcome: 'settled',
      charged: 4,
    });
    expect(await worker!.value('settle', settled)).toMatchObject({ outcome: 'already_settled' });
    expect(await worker!.value('release', { name: 'r1' })).toBe('already_settled');
    expect(runtime.check('reserver', 'chat.fast', 1)).toMatchObject({ remaining: 97 });
    await runtime.flush();
    expect(await balanceOf('reserver')).toBe(97);
  });

  it('charges what is there for a worker’s hold a swap could not place again', async () => {
    const url = await plane();
    await admin(url, 'POST', '/v1/customers', { id: 'shrunk' });
    await admin(url, 'POST', '/v1/customers/shrunk/subscriptions', { plan: 'free' });
    const runtime = await mainRuntime();
    const [worker] = await startThreads(runtime, 1);
    const hold = { name: 'big', customer: 'shrunk', feature: 'chat.fast', estimate: 90 };
    expect(await worker!.value('reserve', hold)).toMatchObject({ remaining: 10 });
    await admin(url, 'POST', '/v1/customers/shrunk/adjustments', {
      currency: 'ai_credits',
      amount: -50,
      reason: 'shrink below the hold',
      idempotency_key: 'shrunk-minus-50',
    });
    expect(await runtime.refresh()).toBe(true);
    // 50 left cannot hold 90: the hold is lost, and the worker hears of it.
    expect(runtime.check('shrunk', 'chat.fast', 1)).toMatchObject({ remaining: 50 });
    expect(await worker!.value('settle', { name: 'big', actual: 60 })).toMatchObject({
      outcome: 'settled',
      charged: 50,
      shortfall: 10,
    });
    expect(runtime.check('shrunk', 'chat.fast', 1)).toMatchObject({ allowed: false, remaining: 0 });
    await runtime.flush();
    expect(await balanceOf('shrunk')).toBe(0);
  });

  it('applies a plan change in every worker once the main thread swaps it in', async () => {
    const url = await plane();
    await admin(url, 'POST', '/v1/customers', { id: 'upgraded' });
    await admin(url, 'POST', '/v1/customers/upgraded/subscriptions', { plan: 'free' });
    const runtime = await mainRuntime();
    const workers = await startThreads(runtime, 2);
    const sso = { customer: 'upgraded', feature: 'sso', quantity: 1, user: 'una' };
    for (const thread of workers) {
      expect((await thread.value('check', sso)).reasonName).toBe('no_access');
    }
    await admin(url, 'POST', '/v1/customers/upgraded/subscription/change', { plan: 'team' });
    await admin(url, 'POST', '/v1/customers/upgraded/seats', { user: 'una' });
    await runtime.refresh();
    const version = runtime.snapshotVersion;
    for (const thread of workers) {
      expect(await thread.value('check', sso)).toMatchObject({
        reasonName: 'allowed',
        snapshotVersion: version,
      });
    }
  });

  it('releases the holds of a worker that ended, and delivers what it had used', async () => {
    await customerWith1000('abandoned');
    const runtime = await mainRuntime();
    const [worker] = await startThreads(runtime, 1);
    await worker!.value('consume', { customer: 'abandoned', feature: 'chat.smart', quantity: 2 });
    const hold = { name: 'r', customer: 'abandoned', feature: 'chat.fast', estimate: 300 };
    expect(await worker!.value('reserve', hold)).toMatchObject({ remaining: 690 });
    const ended = new Promise((resolve) => subscribe(channelNames.workerEnded, resolve));
    await worker!.worker.terminate();
    expect(await ended).toMatchObject({ holdsReleased: 1 });
    expect(runtime.check('abandoned', 'chat.fast', 1)).toMatchObject({ remaining: 990 });
    await runtime.flush();
    expect(await balanceOf('abandoned')).toBe(990);
  });

  it('keeps deciding after a worker ends inside a call, holding the shared lock', async () => {
    await customerWith1000('crashed');
    const runtime = await mainRuntime();
    const [worker] = await startThreads(runtime, 1);
    const args = { customer: 'crashed', feature: 'chat.fast', quantity: 1 };
    await worker!.value('consume', args);
    const exited = new Promise((resolve) => worker!.worker.once('exit', resolve));
    worker!.worker.postMessage({ command: 'exitInside', args });
    await exited;
    // Freed by the main thread's clean-up, or taken over after STALE_MS if it comes late.
    expect(runtime.consume('crashed', 'chat.fast')).toMatchObject({
      allowed: true,
      remaining: 998,
    });
    await runtime.flush();
    expect(await balanceOf('crashed')).toBe(998);
  });

  it('runs a worker’s consumeAsync of a strict feature in the main thread', async () => {
    await customerWith1000('strictly');
    const runtime = await mainRuntime({ features: { 'chat.smart': { mode: 'strict' } } });
    const [worker] = await startThreads(runtime, 1);
    const args = { customer: 'strictly', feature: 'chat.smart', quantity: 1 };
    expect(await worker!.ask('consume', args)).toMatchObject({
      ok: false,
      code: 'TOLLGATE_ERR_STRICT_ASYNC_ONLY',
    });
    expect(await worker!.value('consumeAsync', args)).toMatchObject({
      allowed: true,
      remaining: 995,
    });
    expect(await balanceOf('strictly')).toBe(995);
  });
});

describe('worker threads: bad input', () => {
  it('refuses a share that is not one, naming the member, and changes nothing', async () => {
    const runtime = await mainRuntime();
    const share = runtime.share();
    const { port1 } = new MessageChannel();
    const attempts: unknown[] = [
      null,
      { ...share, port: 'port' },
      { ...share, port: port1, figures: new SharedArrayBuffer(8) },
      { ...share, port: port1, settings: null },
      { ...share, port: port1, evaluator: { module: {}, memory: {} } },
    ];
    const errors = [];
    for (const attempt of attempts) {
      errors.push(await attachTollgate(attempt as TollgateShare).catch((error) => error));
    }
    expect(errors.map((error) => [error.code, error.field])).toEqual([
      ['TOLLGATE_ERR_THREAD_ATTACH', 'port'],
      ['TOLLGATE_ERR_THREAD_ATTACH', 'port'],
      ['TOLLGATE_ERR_THREAD_ATTACH', 'figures'],
      ['TOLLGATE_ERR_THREAD_ATTACH', 'settings'],
      ['TOLLGATE_ERR_THREAD_ATTACH', 'module'],
    ]);
    port1.close();
    share.port.close();
  });

  it('refuses a share attached once already, or whose port was closed', async () => {
    const runtime = await mainRuntime();
    const share = runtime.share();
    const first = await attachTollgate(share);
    runtimes.push(first);
    await expect(attachTollgate(share)).rejects.toMatchObject({
      code: 'TOLLGATE_ERR_THREAD_ATTACH',
      field: 'port',
    });
    const closed = runtime.share();
    closed.port.close();
    await expect(attachTollgate(closed)).rejects.toMatchObject({
      code: 'TOLLGATE_ERR_THREAD_ATTACH',
      field: 'port',
    });
    const unused = runtime.share();
    await expect(attachTollgate(unused, { clock: 'now' as never })).rejects.toMatchObject({
      code: 'TOLLGATE_ERR_VALIDATION',
      field: 'clock',
    });
    await expect(attachTollgate(unused, { runtimeId: 'bad id!' })).rejects.toMatchObject({
      code: 'TOLLGATE_ERR_INVALID_IDENTIFIER',
      field: 'runtimeId',
    });
    // Neither refusal used the share up: it still attaches.
    runtimes.push(await attachTollgate(unused));
  });

  it('keeps usage keys apart when two workers are given one runtimeId', async () => {
    await customerWith1000('named');
    const runtime = await mainRuntime();
    const workers = await startThreads(runtime, 2, { runtimeId: 'api-worker' });
    const args = { customer: 'named', feature: 'chat.fast', quantity: 1 };
    for (const thread of workers) {
      for (let call = 0; call < 3; call++) await thread.value('consume', args);
    }
    const ids = await Promise.all(workers.map((thread) => thread.value('runtimeId')));
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) expect(id).toMatch(/^api-worker\.[0-9a-f-]{36}$/);
    await runtime.flush();
    expect(await balanceOf('named')).toBe(994);
    expect(runtime.usageStats).toMatchObject({ eventsAccepted: 6, eventsRejected: 0 });
  });

  it('refuses to share a runtime made without threads, and threads without Wasm', async () => {
    const url = await plane();
    const plain = await createTollgate({
      controlPlaneUrl: url,
      apiKey: 'tg_runtime_process',
      stream: false,
      refreshIntervalMs: 0,
    });
    runtimes.push(plain);
    expect(() => plain.share()).toThrow(
      expect.objectContaining({ code: 'TOLLGATE_ERR_THREAD_OWNER_ONLY', field: 'threads' }),
    );
    const reference = createTollgate({
      controlPlaneUrl: url,
      apiKey: 'tg_runtime_process',
      threads: true,
      evaluator: 'reference',
    });
    await expect(reference).rejects.toMatchObject({
      code: 'TOLLGATE_ERR_VALIDATION',
      field: 'threads',
    });
  });

  it('refuses a synchronous lease consume in a worker, and a share from a worker', async () => {
    await customerWith1000('leased');
    const runtime = await mainRuntime({ features: { 'chat.fast': { mode: 'lease' } } });
    const [worker] = await startThreads(runtime, 1);
    const args = { customer: 'leased', feature: 'chat.fast', quantity: 1 };
    expect(await worker!.ask('consume', args)).toMatchObject({
      ok: false,
      code: 'TOLLGATE_ERR_THREAD_OWNER_ONLY',
      field: 'feature',
    });
    expect(await worker!.ask('share')).toMatchObject({
      ok: false,
      code: 'TOLLGATE_ERR_THREAD_OWNER_ONLY',
    });
    expect(await worker!.value('stats')).toMatchObject({ eventsQueued: 0, queueDepth: 0 });
    expect(runtime.check('leased', 'chat.fast', 1)).toMatchObject({ remaining: 1000 });
  });
});
