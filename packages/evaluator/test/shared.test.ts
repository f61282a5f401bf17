import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { FeatureKind, LimitBehavior } from '@tollgate/core';
import { encodeSnapshot } from '@tollgate/snapshot';
import type { SnapshotInput } from '@tollgate/snapshot';
import { attachWasmEvaluator, createWasmEvaluator } from '../src/index.js';
import type { SharedEvaluatorHandle, SharedWasmEvaluator } from '../src/index.js';
import { T0 } from './fixtures.js';
import { STALE_MS } from '../src/lock.js';

/**
 * One customer with 5,000 hard-limited calls and 1,000 hard credits at 1 per token. In
 * version 2 the features swap places, a seat holder appears and calls reset later.
 */
function threadsSnapshot(version: number): SnapshotInput {
  const calls = { key: 'api_calls', kind: FeatureKind.Metered, currencyIndex: 0 };
  const tokens = { key: 'ai_tokens', kind: FeatureKind.Credits, currencyIndex: 0 };
  const callsRow = {
    access: true,
    limit: 5000,
    used: 0,
    resetAtMs: 0,
    behavior: LimitBehavior.Hard,
  };
  const tokensRow = { ...callsRow, limit: null };
  const swapped = version > 1;
  return {
    snapshotVersion: version,
    createdAtMs: T0,
    usageWatermark: version * 10,
    currencies: [{ code: 'credits' }],
    features: (swapped ? [tokens, calls] : [calls, tokens]).map((feature) => ({
      ...feature,
      costPerUnit: feature.kind === FeatureKind.Credits ? 1 : 0,
      requiresSeat: false,
    })),
    customers: [
      {
        id: 'cus_t',
        nextChangeAtMs: T0 + version * 1000,
        entitlements: swapped ? [tokensRow, callsRow] : [callsRow, tokensRow],
        balances: [{ balance: 1000, behavior: LimitBehavior.Hard }],
        seatHolders: swapped ? ['usr_new'] : [],
      },
    ],
  };
}

interface Reply {
  ok: boolean;
  value?: unknown;
  code?: string;
}

/** A worker thread attached to the evaluator, driven one command at a time. */
class Thread {
  readonly worker: Worker;
  #replies: ((reply: Reply) => void)[] = [];

  constructor(handle: SharedEvaluatorHandle) {
    const url = new URL('./threads/evaluator-worker.mjs', import.meta.url);
    this.worker = new Worker(url, { workerData: { handle } });
    this.worker.on('message', (reply: Reply) => this.#replies.shift()?.(reply));
  }

  next(): Promise<Reply> {
    return new Promise((resolve) => this.#replies.push(resolve));
  }

  async ask(command: string, args: object = {}): Promise<Reply> {
    const reply = this.next();
    this.worker.postMessage({ command, args });
    return reply;
  }
}

const threads: Thread[] = [];

async function startThreads(evaluator: SharedWasmEvaluator, count: number): Promise<Thread[]> {
  const started = Array.from({ length: count }, () => new Thread(evaluator.share()));
  threads.push(...started);
  const ready = await Promise.all(started.map((thread) => thread.next()));
  expect(ready.map((reply) => reply.value)).toEqual(started.map(() => 'ready'));
  return started;
}

afterEach(async () => {
  await Promise.all(threads.splice(0).map((thread) => thread.worker.terminate()));
});

async function loadedEvaluator(): Promise<SharedWasmEvaluator> {
  const evaluator = await createWasmEvaluator({ shared: true });
  evaluator.load(encodeSnapshot(threadsSnapshot(1)));
  return evaluator;
}

describe('SharedWasmEvaluator', () => {
  it('allows exactly 5,000 calls in total when four workers and the owner race', async () => {
    const evaluator = await loadedEvaluator();
    const workers = await startThreads(evaluator, 4);
    const args = { customer: 'cus_t', feature: 'api_calls', quantity: 1, nowMs: T0 };
    const racing = workers.map((thread) => thread.ask('consumeUntilDenied', args));
    let ownerAllowed = 0;
    const calls = evaluator.featureIndex('api_calls');
    while (evaluator.consume('cus_t', calls, 1, T0).allowed) ownerAllowed += 1;
    const results = (await Promise.all(racing)).map(
      (reply) => reply.value as { allowed: number; decision: { reasonName: string } },
    );
    const total = results.reduce((sum, result) => sum + result.allowed, ownerAllowed);
    expect(total).toBe(5000);
    expect(results.map((result) => result.decision.reasonName)).toEqual(
      Array(4).fill('limit_exceeded'),
    );
    expect(evaluator.check('cus_t', calls, 0, T0)).toMatchObject({ used: 5000, remaining: 0 });
  });

  it('spends 1,000 credits across threads in holds of 7 and never past the balance', async () => {
    const evaluator = await loadedEvaluator();
    const workers = await startThreads(evaluator, 3);
    const args = { customer: 'cus_t', feature: 'ai_tokens', quantity: 7, nowMs: T0 };
    const replies = await Promise.all(
      workers.map((thread) => thread.ask('consumeUntilDenied', args)),
    );
    const allowed = replies.reduce(
      (sum, reply) => sum + (reply.value as { allowed: number }).allowed,
      0,
    );
    // 142 uses of 7 are 994 credits; the 143rd would need 1,001.
    expect(allowed).toBe(142);
    const tokens = evaluator.featureIndex('ai_tokens');
    expect(evaluator.check('cus_t', tokens, 1, T0)).toMatchObject({ remaining: 6 });
  });

  it('shows a hold placed by a worker to the owner, and its release to the worker', async () => {
    const evaluator = await loadedEvaluator();
    const [worker] = await startThreads(evaluator, 1);
    const args = { customer: 'cus_t', feature: 'ai_tokens', quantity: 600, nowMs: T0 };
    expect((await worker!.ask('hold', args)).value).toMatchObject({
      allowed: true,
      remaining: 400,
    });
    const tokens = evaluator.featureIndex('ai_tokens');
    expect(evaluator.hold('cus_t', tokens, 600, T0).reasonName).toBe('insufficient_credits');
    evaluator.release('cus_t', tokens, 600, T0);
    expect((await worker!.ask('check', { ...args, quantity: 1 })).value).toMatchObject({
      remaining: 1000,
    });
  });

  it('serves a worker the snapshot the owner activated last, its features and seats', async () => {
    const evaluator = await loadedEvaluator();
    const [worker] = await startThreads(evaluator, 1);
    expect((await worker!.ask('snapshot')).value).toEqual({
      version: 1,
      watermark: 10,
      seat: false,
      nextChangeAtMs: T0 + 1000,
    });
    await evaluator.loadInSteps(encodeSnapshot(threadsSnapshot(2)));
    expect((await worker!.ask('snapshot')).value).toEqual({
      version: 2,
      watermark: 20,
      seat: true,
      nextChangeAtMs: T0 + 2000,
    });
    // The features swapped places; the worker decides by key against the new order.
    const args = { customer: 'cus_t', feature: 'ai_tokens', quantity: 1000, nowMs: T0 };
    expect((await worker!.ask('check', args)).value).toMatchObject({
      allowed: true,
      cost: 1000,
      snapshotVersion: 2,
    });
  });

  it('refuses a load from a worker and leaves the snapshot serving', async () => {
    const evaluator = await loadedEvaluator();
    const [worker] = await startThreads(evaluator, 1);
    expect(await worker!.ask('load')).toMatchObject({
      ok: false,
      code: 'TOLLGATE_ERR_THREAD_OWNER_ONLY',
    });
    expect(evaluator.snapshotVersion).toBe(1);
  });

  it('frees the lock of a worker terminated inside a call', async () => {
    const evaluator = await loadedEvaluator();
    const [worker] = await startThreads(evaluator, 1);
    const slot = (await worker!.ask('slot')).value as number;
    expect(slot).toBe(1);
    expect((await worker!.ask('hang')).value).toBe('holding');
    await worker!.worker.terminate();
    expect(evaluator.reclaimSlot(slot)).toBe(true);
    const calls = evaluator.featureIndex('api_calls');
    expect(evaluator.consume('cus_t', calls, 1, T0)).toMatchObject({ allowed: true, used: 1 });
  });
  it('takes over, after STALE_MS, a lock a worker died holding while the owner waits', async () => {
    const evaluator = await loadedEvaluator();
    const [worker] = await startThreads(evaluator, 1);
    const calls = evaluator.featureIndex('api_calls');
    evaluator.consume('cus_t', calls, 1, T0);
    const exited = new Promise((resolve) => worker!.worker.once('exit', resolve));
    worker!.worker.postMessage({ command: 'exitInside', args: {} });
    await exited;
    // No clean-up ran: the owner's next call waits STALE_MS, then takes the lock over.
    const startedMs = performance.now();
    expect(evaluator.consume('cus_t', calls, 1, T0)).toMatchObject({ allowed: true, used: 2 });
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(STALE_MS);
    expect(evaluator.check('cus_t', calls, 0, T0)).toMatchObject({ used: 2 });
  });
});

describe('attachWasmEvaluator', () => {
  it('refuses what is not a handle from share(), naming the member', async () => {
    const evaluator = await loadedEvaluator();
    const { module } = evaluator.share();
    const plain = new WebAssembly.Memory({ initial: 24, maximum: 65536 });
    const small = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const attempts = [
      attachWasmEvaluator(null as unknown as SharedEvaluatorHandle),
      attachWasmEvaluator({ module: {} as WebAssembly.Module, memory: evaluator.share().memory }),
      attachWasmEvaluator({ module, memory: plain }),
      attachWasmEvaluator({ module, memory: small }),
    ];
    const errors = await Promise.all(attempts.map((attempt) => attempt.catch((error) => error)));
    expect(errors.map((error) => [error.code, error.field])).toEqual([
      ['TOLLGATE_ERR_THREAD_ATTACH', 'module'],
      ['TOLLGATE_ERR_THREAD_ATTACH', 'module'],
      ['TOLLGATE_ERR_THREAD_ATTACH', 'memory'],
      ['TOLLGATE_ERR_THREAD_ATTACH', 'memory'],
    ]);
  });

  it('gives out 63 worker slots, refuses the 64th, and reuses a detached one', async () => {
    const evaluator = await loadedEvaluator();
    const attached: SharedWasmEvaluator[] = [];
    for (let index = 0; index < 63; index++) {
      attached.push(await attachWasmEvaluator(evaluator.share()));
    }
    expect(attached.map((thread) => thread.slot)).toEqual(
      Array.from({ length: 63 }, (_, index) => index + 1),
    );
    const refused = await attachWasmEvaluator(evaluator.share()).catch((error) => error);
    expect(refused.code).toBe('TOLLGATE_ERR_THREAD_ATTACH');
    attached[9]!.detach();
    expect(() => attached[9]!.snapshotVersion).toThrow(
      expect.objectContaining({ code: 'TOLLGATE_ERR_THREAD_ATTACH' }),
    );
    expect((await attachWasmEvaluator(evaluator.share())).slot).toBe(10);
  });

  it('refuses a second owner over the same memory', async () => {
    const evaluator = await loadedEvaluator();
    const { SharedWasmEvaluator: Shared } = await import('../src/shared.js');
    const second = await Shared.own(evaluator.share()).catch((error) => error);
    expect(second.code).toBe('TOLLGATE_ERR_THREAD_ATTACH');
  });
});
