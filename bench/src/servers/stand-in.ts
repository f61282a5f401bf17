import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { unpack } from 'msgpackr';

/**
 * A stand-in for the control plane on 127.0.0.1: serves one snapshot file and
 * acknowledges usage batches (counting their events), so a runtime can start and report
 * without the real server's database in the measurement.
 */
export interface StandIn {
  url: string;
  eventsReceived: number;
  batchesReceived: number;
  /** Serves this snapshot file from now on. */
  serve(path: string): void;
  close(): Promise<void>;
}

export async function startStandIn(snapshotPath: string): Promise<StandIn> {
  let snapshot = readFileSync(snapshotPath);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/v1/snapshot') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(snapshot);
        return;
      }
      if (req.method === 'POST' && req.url === '/v1/usage') {
        const batch = unpack(Buffer.concat(chunks)) as { events: unknown[] };
        standIn.eventsReceived += batch.events.length;
        standIn.batchesReceived += 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ accepted: batch.events.length, duplicates: 0 }));
        return;
      }
      res.writeHead(404).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const standIn: StandIn = {
    url: `http://127.0.0.1:${port}`,
    eventsReceived: 0,
    batchesReceived: 0,
    serve: (path) => {
      snapshot = readFileSync(path);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return standIn;
}
