import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TollgateError } from '@tollgate/core';

export type KeyRole = 'admin' | 'runtime';

/** An API key the server accepts. The environment scopes every row the key reads or writes. */
export interface ApiKeyOptions {
  key: string;
  role: KeyRole;
  /** Defaults to `test`. */
  environment?: string;
}

/** Who is calling: recorded as the actor of every ledger entry the request makes. */
export interface Principal {
  /** `key_` and the first 12 hex digits of the key's SHA-256: safe to log and store. */
  keyId: string;
  role: KeyRole;
  environment: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** Roles allowed on the route; admin only when absent. */
    roles?: readonly KeyRole[];
  }
}

interface KnownKey {
  digest: Buffer;
  principal: Principal;
}

/**
 * Authenticates every request by `Authorization: Bearer <key>`. Keys are compared by their
 * SHA-256 digests in constant time, so response timing reveals nothing about a near miss.
 */
export function registerAuthentication(app: FastifyInstance, keys: readonly ApiKeyOptions[]) {
  const known: KnownKey[] = keys.map((option) => {
    const digest = createHash('sha256').update(option.key).digest();
    const keyId = `key_${digest.toString('hex').slice(0, 12)}`;
    const environment = option.environment ?? 'test';
    return { digest, principal: { keyId, role: option.role, environment } };
  });

  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', async (request) => {
    request.principal = authenticate(request, known);
    const roles = request.routeOptions.config.roles ?? ['admin'];
    if (!roles.includes(request.principal.role)) {
      throw new TollgateError('TOLLGATE_ERR_FORBIDDEN', 'This API key may not call this route');
    }
  });
}

function authenticate(request: FastifyRequest, known: readonly KnownKey[]): Principal {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer (\S+)$/.exec(header);
  if (match?.[1] !== undefined) {
    const digest = createHash('sha256').update(match[1]).digest();
    const found = known.find((candidate) => timingSafeEqual(candidate.digest, digest));
    if (found !== undefined) return found.principal;
  }
  throw new TollgateError(
    'TOLLGATE_ERR_UNAUTHENTICATED',
    'Send a known API key as Authorization: Bearer <key>',
  );
}
