import { createWriteStream, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { releaseWasmPath } from '@tollgate/assembly';
import { assertEvaluatorAbi } from '@tollgate/evaluator';
import { ReferenceEvaluator, createWasmEvaluator } from '@tollgate/evaluator';
import { decodeSnapshot, encodeSnapshot, verifySnapshot } from '@tollgate/snapshot';
import { nestedMapOver } from '../fixtures/baselines.js';
import type { Entitlement } from '../fixtures/baselines.js';
import {
  FEATURE,
  NOW_MS,
  balanceOf,
  customerId,
  entitlementsOf,
  expectedCheck,
  features,
} from '../fixtures/fixture.js';
import { assertAnswer } from '../fixtures/verify.js';
import { childMain } from '../lib/child.js';

/**
 * One measurement per fresh process, so resident memory is this state's and nothing
 * else's: `binary`, `reference` and `json` load the same million customers three ways;
 * `swap` measures decision pauses while a new snapshot replaces the old one.
 */
export interface LoadMeasurement {
  /** From the first byte read to the first decision answered. */
  firstDecisionMs: number;
  readMs: number;
  /** Resident memory after the first decision and a full GC, minus that before reading. */
  residentBytes: number;
  /** Extra figures: Wasm memory, the checksum's share, phases of a swap. */
  detail: Record<string, number>;
}

const probe = 123_457;

/**
 * Resident memory once garbage is gone. V8 frees large ArrayBuffers' memory after the
 * collection, on another thread, so this collects, waits, and collects again.
 */
async function residentAfterGc(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await sleep(200);
  gc?.();
  return process.memoryUsage().rss;
}

function checkFirst(name: string, customerCount: number, answer: unknown): void {
  const customer = probe % customerCount;
  assertAnswer(name, expectedCheck(customer, FEATURE.aiTokens, 1), answer, () => 'first decision');
}

/** A fresh process's first load from disk, by `loadFile` straight into linear memory. */
async function loadFileDirect(path: string, customerCount: number): Promise<LoadMeasurement> {
  const wasm = await createWasmEvaluator();
  const before = await residentAfterGc();
  const start = performance.now();
  wasm.loadFile(path);
  const tokens = wasm.featureIndex('ai_tokens');
  checkFirst(
    'Wasm',
    customerCount,
    wasm.check(customerId(probe % customerCount), tokens, 1, NOW_MS),
  );
  const firstDecisionMs = performance.now() - start;
  const residentBytes = (await residentAfterGc()) - before;
  return {
    firstDecisionMs,
    readMs: NaN,
    residentBytes,
    detail: { wasmMemoryBytes: wasm.memoryBytes },
  };
}

async function loadBinary(path: string, customerCount: number): Promise<LoadMeasurement> {
  const wasm = await createWasmEvaluator();
  const before = await residentAfterGc();
  const start = performance.now();
  let bytes = await readFile(path);
  const readMs = performance.now() - start;
  wasm.load(bytes);
  const tokens = wasm.featureIndex('ai_tokens');
  checkFirst(
    'Wasm',
    customerCount,
    wasm.check(customerId(probe % customerCount), tokens, 1, NOW_MS),
  );
  const firstDecisionMs = performance.now() - start;

  const snapshotBytes = bytes.length;
  // The file's bytes were copied into linear memory; the app would drop them.
  bytes = Buffer.alloc(0);
  const residentBytes = (await residentAfterGc()) - before;
  return {
    firstDecisionMs,
    readMs,
    residentBytes,
    detail: { wasmMemoryBytes: wasm.memoryBytes, snapshotBytes },
  };
}

async function loadReference(path: string, customerCount: number): Promise<LoadMeasurement> {
  const reference = new ReferenceEvaluator();
  const before = await residentAfterGc();
  const start = performance.now();
  const bytes = await readFile(path);
  const readMs = performance.now() - start;
  reference.load(bytes);
  const tokens = reference.featureIndex('ai_tokens');
  const id = customerId(probe % customerCount);
  checkFirst('TS reference', customerCount, reference.check(id, tokens, 1, NOW_MS));
  const firstDecisionMs = performance.now() - start;
  return { firstDecisionMs, readMs, residentBytes: (await residentAfterGc()) - before, detail: {} };
}

/**
 * The JSON an application would load instead: per customer its id, one array per
 * feature (access, limit, used, reset) and its balance. Arrays rather than keyed objects,
 * because keyed objects for a million customers pass V8's 512 MB string limit.
 */
async function writeJson(path: string, customerCount: number): Promise<void> {
  const out = createWriteStream(path);
  out.write('{"customers":[');
  for (let customer = 0; customer < customerCount; customer++) {
    const rows = entitlementsOf(customer).map((e) => [
      e.access ? 1 : 0,
      e.limit,
      e.used,
      e.resetAtMs,
    ]);
    const record = JSON.stringify([customerId(customer), rows, balanceOf(customer)]);
    if (!out.write(customer === 0 ? record : `,${record}`)) await once(out, 'drain');
  }
  out.end(']}');
  await once(out, 'finish');
}

type JsonCustomer = [string, [number, number | null, number, number][], number];

async function loadJson(path: string, customerCount: number): Promise<LoadMeasurement> {
  const before = await residentAfterGc();
  const start = performance.now();
  const text = await readFile(path, 'utf8');
  const readMs = performance.now() - start;
  const parsed = JSON.parse(text) as { customers: JsonCustomer[] };
  const parsedMs = performance.now() - start;
  // The state an app builds from it: the nested-Maps baseline's objects.
  const byCustomer = new Map<string, Map<string, Entitlement>>();
  for (const [id, rows, balance] of parsed.customers) {
    const account = { balance, held: 0 };
    const byFeature = new Map<string, Entitlement>();
    rows.forEach(([access, limit, used], index) => {
      const { kind, costPerUnit: cost, key } = features[index]!;
      const soft = index === FEATURE.exports;
      const balance = account;
      byFeature.set(key, { kind, access: access === 1, limit, used, held: 0, soft, cost, balance });
    });
    byCustomer.set(id, byFeature);
  }
  const check = nestedMapOver(byCustomer).check;
  checkFirst('JSON Maps', customerCount, check(customerId(probe % customerCount), 'ai_tokens', 1));
  const firstDecisionMs = performance.now() - start;
  return {
    firstDecisionMs,
    readMs,
    residentBytes: (await residentAfterGc()) - before,
    detail: { parseMs: parsedMs - readMs, jsonBytes: Buffer.byteLength(text) },
  };
}

/**
 * Decisions run back to back, yielding to the event loop after every few, while the
 * next snapshot is read asynchronously and loaded — in one call (`load`) or in slices
 * (`loadInSteps`): the longest gap between two answered decisions is the pause a request
 * would have seen.
 */
async function swapUnderLoad(
  first: string,
  second: string,
  customerCount: number,
  method: 'whole' | 'steps',
) {
  const wasm = await createWasmEvaluator();
  wasm.load(readFileSync(first));
  const tokens = wasm.featureIndex('ai_tokens');
  const ids = Array.from({ length: 4096 }, (_, i) => customerId((i * 7919) % customerCount));
  let gapMaxMs = 0;
  let decisions = 0;
  let versionsSeen = '';
  let swapping = true;
  const loadPhase = { readMs: 0, loadMs: 0 };

  // The same loop with no swap first: the longest gap the machine alone causes (other
  // processes, the collector) is the baseline a swap's pause is read against.
  let idleGapMaxMs = 0;
  const idleUntil = performance.now() + 1000;
  for (let previous = performance.now(); previous < idleUntil;) {
    for (let burst = 0; burst < 16; burst++) wasm.check(ids[burst]!, tokens, 1, NOW_MS);
    await nextTurn();
    const now = performance.now();
    idleGapMaxMs = Math.max(idleGapMaxMs, now - previous);
    previous = now;
  }

  const load = (async () => {
    await nextTurn();
    const start = performance.now();
    const bytes = await readFile(second);
    loadPhase.readMs = performance.now() - start;
    const loadStart = performance.now();
    if (method === 'steps') await wasm.loadInSteps(bytes, { sliceMs: 0.5 });
    else wasm.load(bytes);
    loadPhase.loadMs = performance.now() - loadStart;
    swapping = false;
  })();

  let last = performance.now();
  // Keep deciding a while after the flip, so the new version is seen answering too.
  let afterSwap = 0;
  while (swapping || afterSwap < 4096) {
    if (!swapping) afterSwap += 16;
    for (let burst = 0; burst < 16; burst++, decisions++) {
      const decision = wasm.check(ids[decisions & 4095]!, tokens, 1, NOW_MS);
      const version = String(decision.snapshotVersion);
      if (!versionsSeen.endsWith(version)) versionsSeen += version;
      const now = performance.now();
      gapMaxMs = Math.max(gapMaxMs, now - last);
      last = now;
    }
    await nextTurn();
  }
  await load;
  if (versionsSeen !== '12') throw new Error(`decisions saw snapshot versions ${versionsSeen}`);
  return { gapMaxMs, idleGapMaxMs, decisions, ...loadPhase };
}

/**
 * Profiles the synchronous part of a load through the module's ABI, phase by phase: the
 * checksum, reserving the staging region, copying the bytes in, and tg_load's check.
 */
async function profileLoad(path: string) {
  const module = await WebAssembly.compile(readFileSync(releaseWasmPath));
  const instance = await WebAssembly.instantiate(module, { env: { abort: () => {} } });
  const exports = assertEvaluatorAbi(instance.exports);
  exports._start?.();
  const bytes = readFileSync(path);
  const phases: Record<string, number> = {};
  const time = <T>(name: string, work: () => T): T => {
    const start = performance.now();
    const result = work();
    phases[name] = performance.now() - start;
    return result;
  };
  const header = time('checksumMs', () => verifySnapshot(bytes));
  const { customerCount, featureCount, currencyCount } = header;
  const at = time('stageMs', () =>
    exports.tg_stage(bytes.length, customerCount, featureCount, currencyCount),
  );
  time('copyMs', () => new Uint8Array(exports.memory.buffer).set(bytes, at));
  const status = time('tgLoadMs', () => exports.tg_load());
  if (status !== 0) throw new Error(`tg_load answered ${status}`);
  return phases;
}

/**
 * What a delta costs the runtime today: the changed customers replace their rows in the
 * decoded snapshot held, the whole snapshot is encoded again and loaded. Timed from the
 * decoded base (which the runtime keeps) to the first decision on the new version.
 */
async function applyDeltas(path: string, customerCount: number, changedCount: number) {
  const wasm = await createWasmEvaluator();
  const bytes = readFileSync(path);
  wasm.load(bytes);
  const base = decodeSnapshot(bytes);
  const changed = new Map(
    Array.from({ length: changedCount }, (_, index) => {
      const customer = base.customers[(index * 7919) % customerCount]!;
      const entitlements = customer.entitlements.map((row) => ({ ...row, used: 0 }));
      return [customer.id, { ...customer, entitlements }] as const;
    }),
  );
  const start = performance.now();
  const customers = base.customers.map((customer) => changed.get(customer.id) ?? customer);
  const next = encodeSnapshot({ ...base, snapshotVersion: 2, customers });
  const encodeMs = performance.now() - start;
  await wasm.loadInSteps(next);
  const tokens = wasm.featureIndex('ai_tokens');
  const [firstChanged] = changed.keys();
  const answer = wasm.check(firstChanged!, tokens, 1, NOW_MS);
  if (answer.snapshotVersion !== 2 || (answer.limit !== null && answer.used !== 0)) {
    throw new Error(`the delta did not apply: ${JSON.stringify(answer)}`);
  }
  const totalMs = performance.now() - start;
  const updates = changedCount * base.features.length;
  return { totalMs, encodeMs, updates, updatesPerSecond: updates / (totalMs / 1000) };
}

childMain(async (args) => {
  const [mode, path, count, second] = args as [string, string, string, string?];
  const customerCount = Number(count);
  if (mode === 'binary') return loadBinary(path, customerCount);
  if (mode === 'file') return loadFileDirect(path, customerCount);
  if (mode === 'reference') return loadReference(path, customerCount);
  if (mode === 'write-json') return writeJson(path, customerCount);
  if (mode === 'json') return loadJson(path, customerCount);
  if (mode === 'profile') return profileLoad(path);
  if (mode === 'delta') return applyDeltas(path, customerCount, Number(second));
  if (mode === 'swap') return swapUnderLoad(path, second!, customerCount, 'whole');
  if (mode === 'swap-steps') return swapUnderLoad(path, second!, customerCount, 'steps');
  throw new Error(`unknown mode ${mode}`);
});
