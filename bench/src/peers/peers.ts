import { GrowthBookClient } from '@growthbook/growthbook';
import { RulesEngineClient } from '@schematichq/schematic-typescript-node';
import { Stigg } from '@stigg/node-server-sdk';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { setTimeout as sleep } from 'node:timers/promises';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { startStiggStandIn } from '../servers/stigg-stand-in.js';

/**
 * The SDKs a user would pick instead of Tollgate, each set up offline and asked its own
 * form of the same question. Flag peers hold per-customer entitlements the way their
 * model allows: as targeting on a `plan` attribute that the application looks up and
 * passes in. Each peer's own expected answer is checked before it is timed.
 */
export interface Peer {
  name: string;
  /** How this peer evaluates differently; printed in the results. */
  differs: string;
  /** Answers for a customer id (a fresh string) whose plan the app looks up. */
  decide(customer: string, plan: string): boolean | Promise<boolean>;
  /** What this peer must answer for a customer on `plan`. */
  expected(plan: string): boolean;
  close(): Promise<void> | void;
}

export const plans = ['free', 'pro', 'team'] as const;
const paid = (plan: string) => plan !== 'free';

export function growthBook(): Peer {
  const client = new GrowthBookClient();
  client.initSync({
    payload: {
      features: {
        sso: {
          defaultValue: false,
          rules: [{ condition: { plan: { $in: ['pro', 'team'] } }, force: true }],
        },
      },
    },
  });
  return {
    name: 'GrowthBook (features payload)',
    differs: 'evaluates targeting conditions over attributes the app passes; no limits, no usage',
    decide: (id, plan) => client.isOn('sso', { attributes: { id, plan } }),
    expected: paid,
    close: () => client.destroy(),
  };
}

export async function unleash(): Promise<Peer> {
  const client = new Unleash({
    appName: 'tollgate-bench',
    // Nothing listens there: the toggles come from the bootstrap and are never fetched.
    url: 'http://127.0.0.1:9/api/',
    disableMetrics: true,
    disableAutoStart: true,
    refreshInterval: 0,
    storageProvider: new InMemStorageProvider(),
    bootstrap: {
      data: [
        {
          name: 'sso',
          enabled: true,
          type: 'release',
          project: 'default',
          stale: false,
          impressionData: false,
          variants: [],
          strategies: [
            {
              name: 'default',
              parameters: {},
              constraints: [{ contextName: 'plan', operator: 'IN', values: ['pro', 'team'] }],
            },
          ],
        },
      ] as never,
    },
  });
  client.on('error', () => {});
  await client.start();
  return {
    name: 'Unleash (bootstrapped)',
    differs: 'evaluates strategy constraints on a context; yes/no only, no limits or usage',
    decide: (id, plan) => client.isEnabled('sso', { userId: id, properties: { plan } }),
    expected: paid,
    close: () => client.destroy(),
  };
}

export async function stiggOffline(): Promise<Peer> {
  const client = Stigg.initialize({
    apiKey: 'server-bench-offline',
    offline: true,
    entitlementsFallback: { 'feature-sso': { hasAccess: true } },
  });
  await client.waitForInitialization();
  return {
    name: 'Stigg (offline fallback)',
    differs:
      'offline mode answers one fallback value per feature for every customer (true here), ' +
      'whatever the customer bought',
    decide: async (id) =>
      (await client.getBooleanEntitlement({ customerId: id, featureId: 'feature-sso' })).hasAccess,
    expected: () => true,
    close: () => client.close(),
  };
}

/**
 * Stigg's in-memory cache, filled per customer from a stand-in for its edge API on
 * 127.0.0.1. The first question about a customer fetches its entitlements over HTTP; the
 * timed loops only meet customers already cached, and the suite checks that no fetch
 * happens while they run.
 */
export async function stiggCached(): Promise<Peer & { fetches(): number }> {
  const standIn = await startStiggStandIn((customer) => paid(planOfCustomer(customer)));
  const client = Stigg.initialize({
    apiKey: 'server-bench-cached',
    baseUri: standIn.url,
    baseEdgeUri: standIn.url,
    wsUrl: standIn.wsUrl,
    enableEdge: true,
    realtimeUpdatesEnabled: true,
    enableRemoteConfig: false,
    logConfiguration: { logLevel: 'ERROR' as never, logger: console },
  });
  await client.waitForInitialization();
  // The SDK trusts its cache once its subscriptions are open; wait for them (bounded).
  for (let attempt = 0; attempt < 250 && standIn.subscriptions === 0; attempt++) await sleep(20);
  if (standIn.subscriptions === 0) throw new Error('Stigg opened no subscription');
  return {
    name: 'Stigg (cache filled from a 127.0.0.1 stand-in)',
    differs:
      'answers from a per-customer cache filled over HTTP on the first question about each ' +
      'customer (a miss is a network call); it trusts the cache only while its WebSocket ' +
      'subscriptions are open',
    decide: async (id) =>
      (await client.getBooleanEntitlement({ customerId: id, featureId: 'feature-sso' })).hasAccess,
    expected: paid,
    fetches: () => standIn.fetches,
    close: async () => {
      await client.close();
      await standIn.close();
    },
  };
}

/** The plan the fixture gives a customer id (`cus_0000042`): free, pro, team in turn. */
export function planOfCustomer(id: string): string {
  return plans[Number(id.slice(4)) % 3]!;
}

export async function schematic(): Promise<Peer> {
  const engine = new RulesEngineClient();
  await engine.initialize();
  const scope = { accountId: 'acc_bench', environmentId: 'env_bench' };
  const condition = {
    ...scope,
    id: 'cond_paid',
    conditionType: 'plan',
    operator: 'eq',
    resourceIds: ['plan_pro', 'plan_team'],
    traitValue: '',
  };
  const rule = {
    ...scope,
    id: 'rule_paid',
    name: 'paid plans',
    priority: 1,
    ruleType: 'plan_entitlement',
    value: true,
    conditions: [condition],
    conditionGroups: [],
  };
  const flag = { ...scope, id: 'flag_sso', key: 'sso', defaultValue: false, rules: [rule] };
  const company = (id: string, plan: string) => ({
    ...scope,
    id,
    keys: { id },
    planIds: [`plan_${plan}`],
    planVersionIds: [],
    billingProductIds: [],
    creditBalances: {},
    metrics: [],
    rules: [],
    traits: [],
  });
  return {
    name: 'Schematic (Wasm rules engine, direct)',
    differs:
      'each check serialises the flag and the whole company record to JSON for its Wasm engine',
    decide: async (id, plan) => (await engine.checkFlag(flag, company(id, plan), null)).value,
    expected: paid,
    close: () => {},
  };
}

/** The consume question: one limiter, promise API, memory store. */
export function rateLimiter(points: number) {
  const limiter = new RateLimiterMemory({ points, duration: 0 });
  return {
    name: 'rate-limiter-flexible (memory)',
    differs: 'one limit per limiter, no feature kinds or credits; every call returns a promise',
    consume: async (id: string) => (await limiter.consume(id, 1)).remainingPoints,
  };
}
