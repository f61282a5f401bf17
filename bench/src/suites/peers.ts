import diagnosticsChannel from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { createWasmEvaluator } from '@tollgate/evaluator';
import { FEATURE, NOW_MS, customerId, expectedCheck, features } from '../fixtures/fixture.js';
import { snapshotFile } from '../fixtures/files.js';
import { sink, timeLoops } from '../lib/measure.js';
import type { LoopTask } from '../lib/measure.js';
import type { SuiteContext } from '../lib/options.js';
import { ratiosAgainst } from '../lib/results.js';
import type { ResultRow, SuiteResult } from '../lib/results.js';
import {
  growthBook,
  planOfCustomer,
  rateLimiter,
  schematic,
  stiggCached,
  stiggOffline,
  unleash,
} from '../peers/peers.js';
import type { Peer } from '../peers/peers.js';

const CUSTOMERS = 10_000;
const LOOP = 256;
const TOLLGATE = 'Tollgate (Wasm evaluator)';
const FLAG_CASE = 'may this customer use a feature? (per decision)';
const CONSUME_CASE = 'consume 1 unit of a limit (per decision)';

/** Fresh id strings per loop, as in the decisions suite, over a 1,000-customer hot set. */
function freshIds() {
  const ids: string[] = new Array(LOOP).fill('');
  let round = 0;
  const refill = () => {
    for (let index = 0; index < LOOP; index++) {
      ids[index] = customerId(((round * LOOP + index) * 7919) % 1000);
    }
    round += 1;
  };
  refill();
  return { ids, refill };
}

export async function runPeers(context: SuiteContext): Promise<SuiteResult> {
  const started = Date.now();
  const wasm = await createWasmEvaluator();
  wasm.load(readFileSync(snapshotFile(CUSTOMERS)));
  const sso = wasm.featureIndex(features[FEATURE.sso]!.key);
  const calls = wasm.featureIndex(features[FEATURE.apiCalls]!.key);
  const stigg = await stiggCached();
  const peers: Peer[] = [
    growthBook(),
    await unleash(),
    stigg,
    await stiggOffline(),
    await schematic(),
  ];
  const limiter = rateLimiter(1_000_000_000_000);
  // The app's lookup of a customer's plan, which the flag peers need and Tollgate does not.
  const planById = new Map<string, string>();
  for (let customer = 0; customer < 1000; customer++) {
    planById.set(customerId(customer), planOfCustomer(customerId(customer)));
  }

  try {
    // Answers first, for every subject, on every customer of the hot set.
    for (let customer = 0; customer < 1000; customer++) {
      const id = customerId(customer);
      const allowed = wasm.check(id, sso, 1, NOW_MS).allowed;
      if (allowed !== expectedCheck(customer, FEATURE.sso, 1).allowed) {
        throw new Error(`Tollgate answered ${allowed} for ${id}`);
      }
      for (const peer of peers) {
        const answer = await peer.decide(id, planById.get(id)!);
        if (answer !== peer.expected(planById.get(id)!)) {
          throw new Error(`${peer.name} answered ${answer} for ${id}`);
        }
      }
    }
    const remaining = await limiter.consume('cus_probe');
    if (remaining !== 1_000_000_000_000 - 1) throw new Error(`limiter left ${remaining}`);

    const { ids, refill } = freshIds();
    const task = (name: string, run: () => void | Promise<void>): LoopTask => ({
      name,
      operations: LOOP,
      beforeEach: refill,
      run: run as () => void,
    });
    const tasks: LoopTask[] = [
      task(`${FLAG_CASE}|${TOLLGATE}`, () => {
        let total = 0;
        for (const id of ids) total += wasm.check(id, sso, 1, NOW_MS).allowed ? 1 : 0;
        sink.value += total;
      }),
      ...peers.map((peer) =>
        task(`${FLAG_CASE}|${peer.name}`, async () => {
          let total = 0;
          for (const id of ids) total += (await peer.decide(id, planById.get(id)!)) ? 1 : 0;
          sink.value += total;
        }),
      ),
      task(`${CONSUME_CASE}|${TOLLGATE}`, () => {
        let total = 0;
        for (const id of ids) total += wasm.consume(id, calls, 1, NOW_MS).remaining ?? 0;
        sink.value += total;
      }),
      task(`${CONSUME_CASE}|${limiter.name}`, async () => {
        let total = 0;
        for (const id of ids) total += await limiter.consume(id);
        sink.value += total;
      }),
    ];
    // Offline while timed: no socket opened by anyone, no Stigg cache miss.
    const fetchesBefore = stigg.fetches();
    let socketsOpened = 0;
    const onSocket = () => void (socketsOpened += 1);
    diagnosticsChannel.subscribe('net.client.socket', onSocket);
    let timings;
    try {
      timings = await timeLoops(tasks, context.quick ? 150 : 500);
    } finally {
      diagnosticsChannel.unsubscribe('net.client.socket', onSocket);
    }
    if (socketsOpened !== 0 || stigg.fetches() !== fetchesBefore) {
      throw new Error(
        `not offline while timed: ${socketsOpened} sockets opened, ` +
          `${stigg.fetches() - fetchesBefore} Stigg fetches`,
      );
    }
    const rows: ResultRow[] = [...timings].map(([name, timing]) => {
      const [question, subject] = name.split('|') as [string, string];
      return { case: question, subject, value: timing.nsMedian, unit: 'ns' };
    });
    ratiosAgainst(rows, TOLLGATE);
    return {
      suite: 'peers',
      title: 'Peers',
      budgetMs: context.budgetMs,
      elapsedMs: Date.now() - started,
      inputs:
        `Tollgate on a ${CUSTOMERS / 1000}k-customer snapshot; flag peers on one feature ` +
        'targeted at the paid plans, the plan passed in from an app-side Map; a hot set of ' +
        `1,000 freshly built customer ids; loops of ${LOOP} decisions, awaited one by one ` +
        'for promise APIs; every peer offline in this process',
      rows,
      targets: [],
      notes: [
        'Ratios are each peer over Tollgate in the same run: above 1 means the peer is slower.',
        'Every subject answered the same question for all 1,000 customers of the hot set ' +
          'before timing; while timed, no socket was opened (net.client.socket) and Stigg ' +
          `fetched nothing (its ${fetchesBefore} fetches were the first question per customer).`,
        `Tollgate answers from its snapshot; it needs no plan lookup and returns limit, ` +
          'usage, remaining and reason with every decision.',
        ...peers.map((peer) => `${peer.name}: ${peer.differs}.`),
        `${limiter.name}: ${limiter.differs}.`,
      ],
    };
  } finally {
    for (const peer of peers) await peer.close();
  }
}
