import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runQuillstone } from '../examples/ai-assistant/src/quillstone.js';
import { startDemoServers } from '../examples/ai-assistant/src/servers.js';

const directory = mkdtempSync(join(tmpdir(), 'tollgate-quillstone-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

// The demo's own checks hold every expected number of the scenario; this runs it as a
// test on both evaluators, which must agree with the scenario and with each other.
describe.each(['wasm', 'reference'] as const)(
  'the Quillstone scenario on the %s evaluator',
  (evaluator) => {
    it('reproduces every expected result of steps 1-17', async () => {
      const servers = await startDemoServers({
        databasePath: join(directory, `${evaluator}.sqlite`),
        evaluator,
      });
      try {
        const results = await runQuillstone(servers);
        expect(results.flatMap((result) => result.failures)).toEqual([]);
        expect([...new Set(results.map((result) => result.step))]).toEqual([
          '1',
          '2',
          '3',
          '4',
          '5',
          '6',
          '7',
          '8',
          '9',
          '10',
          '11',
          '12',
          '13',
          '14',
          '15',
          '16',
          '17',
        ]);
        const balances = results.map((result) => [result.step, result.balance]);
        expect(balances).toContainEqual(['7', '1,800']);
        expect(balances).toContainEqual(['8', '3,000']);
        expect(balances).toContainEqual(['16', '2,995']);
        expect(balances).toContainEqual(['17', '2,775']);
      } finally {
        await servers.close();
      }
    });
  },
);
