import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

/**
 * A stand-in for Stigg's API on 127.0.0.1, enough for its Node SDK (3.95) to fill and
 * trust its in-memory cache:
 *
 * - the edge API's `GET /v1/c/<customer>/entitlements.json`, answered from `entitled`;
 * - the GraphQL WebSocket (`graphql-transport-ws`): the SDK serves from its cache only
 *   while its real-time subscriptions are open, so they are acknowledged and left open.
 *
 * Every customer gets a boolean `feature-basic`; an entitled one also `feature-sso`.
 */
export interface StiggStandIn {
  url: string;
  wsUrl: string;
  /** Entitlement fetches served so far: one per cache miss. */
  fetches: number;
  /** Subscriptions the SDK opened; the cache serves hits once they are open. */
  subscriptions: number;
  close(): Promise<void>;
}

const updatedAt = '2026-01-01T00:00:00.000Z';

function entitlementOf(refId: string) {
  return {
    isGranted: true,
    feature: { refId, featureType: 'BOOLEAN', meterType: 'None' },
    entitlementUpdatedAt: updatedAt,
  };
}

export async function startStiggStandIn(
  entitled: (customer: string) => boolean,
): Promise<StiggStandIn> {
  const server = createServer((req, res) => {
    const match = /^\/v1\/c\/([^/?]+)\/entitlements\.json/.exec(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    if (match === null) {
      res.statusCode = 404;
      res.end(JSON.stringify({ errors: [{ message: `no stand-in for ${req.url}` }] }));
      return;
    }
    standIn.fetches += 1;
    const customer = decodeURIComponent(match[1]!);
    const entitlements = [entitlementOf('feature-basic')];
    if (entitled(customer)) entitlements.push(entitlementOf('feature-sso'));
    res.end(JSON.stringify({ data: { entitlements } }));
  });
  const sockets = new WebSocketServer({ server });
  sockets.on('connection', (socket) => {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type === 'connection_init') socket.send('{"type":"connection_ack"}');
      else if (message.type === 'ping') socket.send('{"type":"pong"}');
      else if (message.type === 'subscribe') standIn.subscriptions += 1;
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const standIn: StiggStandIn = {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    fetches: 0,
    subscriptions: 0,
    async close() {
      for (const socket of sockets.clients) socket.terminate();
      sockets.close();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  return standIn;
}
