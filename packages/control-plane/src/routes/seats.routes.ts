import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TollgateError, assertIdentifier } from '@tollgate/core';
import { resolveAccount } from '@tollgate/catalog';
import type { Catalog } from '@tollgate/catalog';
import { loadAccountState } from '../account-state.js';
import type { CustomerRow, StoreTransaction } from '../store/store.js';
import { readBody, readIdentifier } from '../http/body.js';
import { countSeats } from '../seated-users.js';
import type { RouteContext } from './route-context.js';
import { loadCustomer } from './route-context.js';

type CustomerRequest = FastifyRequest<{ Params: { id: string } }>;
type SeatRequest = FastifyRequest<{ Params: { id: string; user: string } }>;

/**
 * Users and seats. A user belongs to one account, created on first sight. Assigning a
 * seat counts the live seats and inserts in one transaction (SQLite runs them one at a
 * time; PostgreSQL holds the customer's row lock from `loadCustomer`), so concurrent
 * assignments never exceed the limit; a user holds at most one live seat, so removing and
 * re-adding a user counts them once. Admin keys only, except `GET /v1/seats`.
 */
export function registerSeatRoutes(app: FastifyInstance, context: RouteContext): void {
  app.post('/v1/customers/:id/seats', async (request: CustomerRequest, reply) => {
    const outcome = await assign(context, request);
    return reply.status(outcome.assigned ? 201 : 200).send(outcome);
  });
  app.delete('/v1/customers/:id/seats/:user', (request: SeatRequest) => release(context, request));
  app.get('/v1/customers/:id/seats', (request: CustomerRequest) => {
    const customerId = assertIdentifier(request.params.id, 'id');
    const nowMs = context.clock();
    return context.store.transaction(request.principal.environment, async (tx) => {
      const customer = await loadCustomer(context, tx, customerId, nowMs);
      return seatsJson(tx, context.catalog, customer, nowMs);
    });
  });
  app.get('/v1/seats', { config: { roles: ['admin', 'runtime'] } }, async (request) => {
    const holders = await context.store.transaction(request.principal.environment, (tx) =>
      tx.accounts.listAllSeatHolders(),
    );
    const byCustomer: Record<string, string[]> = {};
    for (const { customerId, userId } of holders) (byCustomer[customerId] ??= []).push(userId);
    return { holders: byCustomer };
  });
}

async function assign(context: RouteContext, request: CustomerRequest) {
  const customerId = assertIdentifier(request.params.id, 'id');
  const user = readIdentifier(readBody(request.body), 'user');
  const nowMs = context.clock();
  return context.store.transaction(request.principal.environment, async (tx) => {
    const customer = await loadCustomer(context, tx, customerId, nowMs);
    const account = await tx.accounts.getUserAccount(user);
    if (account !== null && account !== customerId) {
      throw new TollgateError(
        'TOLLGATE_ERR_USER_OTHER_ACCOUNT',
        `user: ${user} belongs to another account`,
        {
          field: 'user',
        },
      );
    }
    if (account === null) await tx.accounts.insertUser(user, customerId, nowMs);
    const seats = await seatsJson(tx, context.catalog, customer, nowMs);
    if (seats.holders.includes(user)) return { ...seats, user, assigned: false };
    if (seats.available !== null && seats.available <= 0) {
      throw new TollgateError(
        'TOLLGATE_ERR_NO_SEAT_AVAILABLE',
        `user: no seat available; ${seats.holders.length} of ${seats.assignable} are taken`,
        { field: 'user' },
      );
    }
    await tx.accounts.assignSeat(customerId, user, nowMs);
    return { ...(await seatsJson(tx, context.catalog, customer, nowMs)), user, assigned: true };
  });
}

async function release(context: RouteContext, request: SeatRequest) {
  const customerId = assertIdentifier(request.params.id, 'id');
  const user = assertIdentifier(request.params.user, 'user');
  const nowMs = context.clock();
  return context.store.transaction(request.principal.environment, async (tx) => {
    const customer = await loadCustomer(context, tx, customerId, nowMs);
    if (!(await tx.accounts.releaseSeat(customerId, user, nowMs))) {
      throw new TollgateError('TOLLGATE_ERR_NOT_FOUND', `user: ${user} holds no seat here`, {
        field: 'user',
      });
    }
    return { ...(await seatsJson(tx, context.catalog, customer, nowMs)), user, released: true };
  });
}

/**
 * The seats of an account now: the limit resolved for the catalog's seats feature, the
 * seats users may take (one fewer when the buyer occupies a seat), the holders in the
 * order they were assigned, the ones seated (the earliest, up to the limit), and how many
 * remain (null when unlimited).
 */
async function seatsJson(
  tx: StoreTransaction,
  catalog: Catalog,
  customer: CustomerRow,
  nowMs: number,
) {
  const resolution = resolveAccount(catalog, await loadAccountState(tx, customer, nowMs), nowMs);
  const { limit, assignable, holders, seated } = await countSeats(
    tx,
    catalog,
    resolution,
    customer.id,
  );
  return {
    customer: customer.id,
    limit,
    buyer_occupies_seat: catalog.seats.buyerOccupiesSeat,
    assignable,
    holders,
    seated,
    available: assignable === null ? null : Math.max(0, assignable - holders.length),
  };
}
