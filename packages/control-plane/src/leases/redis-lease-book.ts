import { Redis } from 'ioredis';
import type { GrantRequest, GrantResult, LeaseBook, LeaseRecord } from './lease-book.js';

// Keys, under the book's prefix and the environment:
//   <prefix>:<env>:pool:<pool>          hash  outstanding, version
//   <prefix>:<env>:pool:<pool>:leases   zset  lease key → reclaim instant (ms)
//   <prefix>:<env>:lease:<id>           hash  pool, cap, consumed
// Each script touches one pool and its leases, so every change to a pool is atomic.

/** Reclaims due leases, checks the version, then carves min(requested, free). */
// ARGV: available, requested, expected version, now, reclaim at, minimum, pool, final.
const grantScript = `
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
for _, leaseKey in ipairs(due) do
  local cap = tonumber(redis.call('HGET', leaseKey, 'cap') or '0')
  local consumed = tonumber(redis.call('HGET', leaseKey, 'consumed') or '0')
  if cap > consumed then redis.call('HINCRBY', KEYS[1], 'outstanding', consumed - cap) end
  redis.call('DEL', leaseKey)
  redis.call('ZREM', KEYS[2], leaseKey)
end
local moved = tonumber(redis.call('HGET', KEYS[1], 'version') or '0') - tonumber(ARGV[3])
if moved ~= 0 and ARGV[8] ~= '1' then return {-1, 0, 0} end
local outstanding = tonumber(redis.call('HGET', KEYS[1], 'outstanding') or '0')
local free = tonumber(ARGV[1]) - outstanding - moved
if free < 0 then free = 0 end
local granted = math.min(tonumber(ARGV[2]), free)
if granted < tonumber(ARGV[6]) then granted = 0 end
redis.call('HSETNX', KEYS[3], 'pool', ARGV[7])
redis.call('HSETNX', KEYS[3], 'consumed', 0)
local cap = redis.call('HINCRBY', KEYS[3], 'cap', granted)
outstanding = redis.call('HINCRBY', KEYS[1], 'outstanding', granted)
redis.call('ZADD', KEYS[2], ARGV[5], KEYS[3])
return {granted, cap, outstanding}
`;

/** Counts ingested usage under a lease; the pool's version grows by what it covered. */
const usageScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local pool = ARGV[1] .. redis.call('HGET', KEYS[1], 'pool')
local cap = tonumber(redis.call('HGET', KEYS[1], 'cap'))
local consumed = tonumber(redis.call('HGET', KEYS[1], 'consumed'))
local covered = math.max(0, math.min(tonumber(ARGV[2]), cap - consumed))
redis.call('HINCRBY', KEYS[1], 'consumed', ARGV[2])
redis.call('HINCRBY', pool, 'outstanding', -covered)
redis.call('HINCRBY', pool, 'version', covered)
return 1
`;

/** Lowers a lease's cap to what its runtime says it used (never below what arrived). */
const returnScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local pool = ARGV[1] .. redis.call('HGET', KEYS[1], 'pool')
local cap = tonumber(redis.call('HGET', KEYS[1], 'cap'))
local consumed = tonumber(redis.call('HGET', KEYS[1], 'consumed'))
local after = math.max(consumed, math.min(cap, tonumber(ARGV[2])))
if cap > after then redis.call('HINCRBY', pool, 'outstanding', after - cap) end
redis.call('HSET', KEYS[1], 'cap', after)
return 1
`;

/**
 * Lease accounting in Redis, shared by every control-plane instance that names the same
 * server and prefix. Each operation is one Lua script, so it is atomic against every
 * other instance. Leases survive a control-plane restart.
 */
export class RedisLeaseBook implements LeaseBook {
  readonly #redis: Redis;
  readonly #prefix: string;

  /** `url` like `redis://127.0.0.1:6379`; `prefix` isolates one deployment (or test). */
  constructor(url: string, prefix: string) {
    this.#redis = new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: false });
    this.#prefix = prefix;
  }

  async poolVersion(environment: string, pool: string): Promise<number> {
    const version = await this.#redis.hget(this.#poolKey(environment, pool), 'version');
    return Number(version ?? 0);
  }

  async grant(request: GrantRequest): Promise<GrantResult | null> {
    const poolKey = this.#poolKey(request.environment, request.pool);
    const reply = (await this.#redis.eval(
      grantScript,
      3,
      poolKey,
      `${poolKey}:leases`,
      this.#leaseKey(request.environment, request.leaseId),
      request.available,
      request.requested,
      request.expectedVersion,
      request.nowMs,
      request.reclaimAtMs,
      request.minimum,
      request.pool,
      request.final ? '1' : '0',
    )) as [number, number, number];
    if (reply[0] === -1) return null;
    return { granted: reply[0], cap: reply[1], outstanding: reply[2] };
  }

  async recordUsage(environment: string, leaseId: string, amount: number): Promise<void> {
    const key = this.#leaseKey(environment, leaseId);
    await this.#redis.eval(usageScript, 1, key, this.#poolKey(environment, ''), amount);
  }

  async returnLease(environment: string, leaseId: string, used: number): Promise<boolean> {
    const key = this.#leaseKey(environment, leaseId);
    const found = await this.#redis.eval(
      returnScript,
      1,
      key,
      this.#poolKey(environment, ''),
      used,
    );
    return found === 1;
  }

  async lease(environment: string, leaseId: string): Promise<LeaseRecord | null> {
    const fields = await this.#redis.hgetall(this.#leaseKey(environment, leaseId));
    if (fields['pool'] === undefined) return null;
    return {
      pool: fields['pool'],
      cap: Number(fields['cap']),
      consumed: Number(fields['consumed']),
    };
  }

  async close(): Promise<void> {
    await this.#redis.quit();
  }

  #poolKey(environment: string, pool: string): string {
    return `${this.#prefix}:${environment}:pool:${pool}`;
  }

  #leaseKey(environment: string, leaseId: string): string {
    return `${this.#prefix}:${environment}:lease:${leaseId}`;
  }
}
