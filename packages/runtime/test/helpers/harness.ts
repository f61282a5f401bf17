import { ManualClock } from '@tollgate/core';
import { createTollgate } from '../../src/index.js';
import type { Tollgate, TollgateOptions } from '../../src/index.js';
import { ControlPlaneStub, runtimeKey } from './control-plane-stub.js';
import type { SnapshotSource } from './control-plane-stub.js';
import { snapshotInput, startMs } from './fixtures.js';

/** Both evaluators, for suites that must hold for each. */
export const evaluatorKinds = ['wasm', 'reference'] as const;

export interface Harness {
  stub: ControlPlaneStub;
  tollgate: Tollgate;
  clock: ManualClock;
  stop(): Promise<void>;
}

/**
 * Starts a stand-in control plane and a runtime against it, at a fixed instant. Batches
 * wait for an explicit flush unless `batch` says otherwise, so tests decide when usage
 * is delivered; retries back off by a few milliseconds only. The Wasm evaluator is the
 * default; suites that must hold for both evaluators run once with each.
 */
export async function startHarness(
  options: Partial<TollgateOptions> = {},
  snapshot: () => SnapshotSource = () => snapshotInput(1),
): Promise<Harness> {
  const stub = await ControlPlaneStub.start(snapshot);
  const clock = new ManualClock(startMs);
  try {
    const tollgate = await createTollgate({
      controlPlaneUrl: stub.url,
      apiKey: runtimeKey,
      evaluator: 'wasm',
      clock: clock.now,
      batch: { maxEvents: 1000, maxDelayMs: 3_600_000 },
      retry: { baseDelayMs: 2, delayMaxMs: 10, attemptsMax: 5 },
      refreshIntervalMs: 0,
      runtimeId: 'rt_test',
      stream: false,
      ...options,
    });
    const stop = async (): Promise<void> => {
      await tollgate.close();
      await stub.close();
    };
    return { stub, tollgate, clock, stop };
  } catch (error) {
    await stub.close();
    throw error;
  }
}
