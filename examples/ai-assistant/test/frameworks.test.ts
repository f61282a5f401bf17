import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runQuillstone } from '../src/quillstone.js';
import { startDemoServers } from '../src/servers.js';

/**
 * The Koa and Nest examples have the Express app's routes: the whole Quillstone
 * scenario, run against each over real HTTP with the real control plane, matches every
 * expected number, as `npm run demo` does for Express.
 */
describe.each(['express', 'koa', 'nest'] as const)('the %s assistant', (framework) => {
  it('matches every expected result of the Quillstone scenario', async () => {
    const directory = mkdtempSync(join(tmpdir(), `tollgate-${framework}-`));
    const servers = await startDemoServers({
      databasePath: join(directory, 'demo.sqlite'),
      framework,
    });
    try {
      const results = await runQuillstone(servers);
      expect(results.flatMap((result) => result.failures)).toEqual([]);
      expect(results.length).toBeGreaterThan(0);
    } finally {
      await servers.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
