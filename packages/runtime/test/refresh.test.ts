import { afterEach, describe, expect, it } from 'vitest';
import { encodeSnapshot } from '@tollgate/snapshot';
import { snapshotInput } from './helpers/fixtures.js';
import { evaluatorKinds, startHarness } from './helpers/harness.js';
import type { Harness } from './helpers/harness.js';

describe.each(evaluatorKinds)('refresh (%s evaluator)', (evaluator) => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  /** A control plane whose snapshot counts every api_calls event it has accepted. */
  async function startCountingHarness(): Promise<{ harness: Harness; version: { value: number } }> {
    const version = { value: 1 };
    // The first snapshot is served while startHarness is still running.
    let started: Harness | undefined;
    const apiCallsUsed = (): number => started?.stub.total('cus_pro', 'api_calls') ?? 0;
    started = await startHarness({ evaluator }, () =>
      snapshotInput(version.value, {
        apiCallsUsed: apiCallsUsed(),
        usageWatermark: started?.stub.watermark ?? 0,
      }),
    );
    return { harness: started, version };
  }

  it('carries consumption over a refresh without counting it twice', async () => {
    const counting = await startCountingHarness();
    harness = counting.harness;
    const { tollgate, stub } = harness;
    for (let call = 0; call < 3; call++) tollgate.consume('cus_pro', 'api_calls');

    await tollgate.flush();
    counting.version.value = 2;
    await expect(tollgate.refresh()).resolves.toBe(true);
    expect(tollgate.snapshotVersion).toBe(2);
    expect(stub.total('cus_pro', 'api_calls')).toBe(3);
    expect(tollgate.check('cus_pro', 'api_calls').used).toBe(3);

    expect(tollgate.consume('cus_pro', 'api_calls', 2).used).toBe(5);
    await tollgate.flush();
    expect(stub.total('cus_pro', 'api_calls')).toBe(5);
  });

  it('carries over only the uses the snapshot watermark does not include', async () => {
    const counting = await startCountingHarness();
    harness = counting.harness;
    const { tollgate, stub } = harness;
    for (let call = 0; call < 3; call++) tollgate.consume('cus_pro', 'api_calls');
    await tollgate.flush();

    counting.version.value = 2;
    const open = stub.pauseSnapshots();
    const requested = stub.nextSnapshotRequest();
    const refreshed = tollgate.refresh();
    await requested;
    // Unsent when the snapshot is built: the snapshot lacks it and its watermark says so.
    tollgate.consume('cus_pro', 'api_calls', 4);
    open();
    await expect(refreshed).resolves.toBe(true);
    expect(stub.total('cus_pro', 'api_calls')).toBe(3);
    expect(tollgate.check('cus_pro', 'api_calls').used).toBe(7);

    await tollgate.flush();
    expect(stub.total('cus_pro', 'api_calls')).toBe(7);
    counting.version.value = 3;
    await tollgate.refresh();
    expect(tollgate.check('cus_pro', 'api_calls').used).toBe(7);
  });

  it('decides on every turn while a large snapshot loads and carries each use over', async () => {
    const version = { value: 1 };
    let started: Harness | undefined;
    started = await startHarness({ evaluator }, () => {
      const input = snapshotInput(version.value, {
        apiCallsUsed: started?.stub.total('cus_pro', 'api_calls') ?? 0,
        usageWatermark: started?.stub.watermark ?? 0,
      });
      // Enough customers that the checksum, the copy and the checks take many slices.
      const template = input.customers.find((customer) => customer.id === 'cus_free')!;
      for (let index = 0; index < (version.value === 1 ? 0 : 40_000); index++) {
        input.customers.push({ ...template, id: `cus_pad_${index}` });
      }
      return input;
    });
    harness = started;
    const { tollgate, stub } = harness;
    for (let call = 0; call < 3; call++) tollgate.consume('cus_pro', 'api_calls');
    await tollgate.flush();

    version.value = 2;
    let done = false;
    const refreshed = tollgate.refresh().then((loaded) => (done = loaded));
    const versions = new Set<number>();
    let during = 0;
    while (!done) {
      versions.add(tollgate.consume('cus_pro', 'api_calls').snapshotVersion);
      during += 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await refreshed;
    expect(versions.has(1)).toBe(true);
    expect(tollgate.snapshotVersion).toBe(2);
    // The 3 flushed uses are in the new snapshot; every use made meanwhile is carried.
    expect(tollgate.check('cus_pro', 'api_calls').used).toBe(3 + during);
    await tollgate.flush();
    expect(stub.total('cus_pro', 'api_calls')).toBe(3 + during);
  });

  it('coalesces concurrent refresh calls into one fetch', async () => {
    const counting = await startCountingHarness();
    harness = counting.harness;
    counting.version.value = 2;
    const results = await Promise.all([harness.tollgate.refresh(), harness.tollgate.refresh()]);
    expect(results).toEqual([true, true]);
    expect(harness.stub.snapshotRequests).toBe(2);
  });

  it('keeps the snapshot it holds when the control plane has nothing newer', async () => {
    harness = await startHarness({ evaluator });
    await expect(harness.tollgate.refresh()).resolves.toBe(false);
    expect(harness.tollgate.snapshotVersion).toBe(1);
  });

  it('refuses a snapshot older than the one held and keeps serving', async () => {
    harness = await startHarness({ evaluator }, () => snapshotInput(5));
    const { tollgate, stub } = harness;
    tollgate.consume('cus_pro', 'api_calls', 2);
    stub.serve(() => snapshotInput(4));
    await expect(tollgate.refresh()).rejects.toMatchObject({
      code: 'TOLLGATE_ERR_SNAPSHOT_OLDER',
    });
    expect(tollgate.snapshotVersion).toBe(5);
    expect(tollgate.consume('cus_pro', 'api_calls').used).toBe(3);
  });

  it('refuses a corrupt snapshot and keeps serving the old one', async () => {
    harness = await startHarness({ evaluator });
    const { tollgate, stub } = harness;
    tollgate.consume('cus_pro', 'api_calls', 2);
    const bytes = encodeSnapshot(snapshotInput(2));
    bytes[bytes.length - 1]! ^= 0xff;
    stub.serve(() => ({ bytes, version: 2 }));
    await expect(tollgate.refresh()).rejects.toMatchObject({
      code: 'TOLLGATE_ERR_SNAPSHOT_CORRUPT',
    });
    expect(tollgate.snapshotVersion).toBe(1);
    expect(tollgate.consume('cus_pro', 'api_calls').used).toBe(3);
  });
});
