import type { FastifyInstance } from 'fastify';
import {
  TollgateError,
  assertIdentifier,
  parsePositiveQuantity,
  validationError,
} from '@tollgate/core';
import { isTimeZone, periodAt } from '@tollgate/catalog';
import { rolloverCustomer } from '../ledger/rollover.js';
import { assertQuantityFits, pickPlanVersion } from '../plan-versions.js';
import { formatInstant, readBody, readIdentifier, readOptionalIdentifier } from '../http/body.js';
import type { RouteContext } from './route-context.js';
import { loadCustomer } from './route-context.js';

/** `POST /v1/customers` and `POST /v1/customers/:id/subscriptions`. Admin keys only. */
export function registerCustomerRoutes(app: FastifyInstance, context: RouteContext): void {
  app.post('/v1/customers', async (request, reply) => {
    const body = readBody(request.body);
    const id = readIdentifier(body, 'id');
    const externalId = readOptionalIdentifier(body, 'external_id');
    const timeZone = body.time_zone === undefined ? null : body.time_zone;
    if (timeZone !== null && !isTimeZone(timeZone)) {
      throw validationError('time_zone', 'expected an IANA time zone such as Europe/Berlin');
    }
    const nowMs = context.clock();

    const created = await context.store.transaction(request.principal.environment, async (tx) => {
      const inserted = await tx.insertCustomer({ id, externalId, createdAtMs: nowMs });
      if (inserted && timeZone !== null) await tx.accounts.setTimeZone(id, timeZone);
      return inserted;
    });
    if (!created) {
      throw new TollgateError('TOLLGATE_ERR_CONFLICT', `id: customer ${id} already exists`, {
        field: 'id',
      });
    }
    return reply.status(201).send({
      id,
      external_id: externalId,
      time_zone: timeZone,
      created_at: formatInstant(nowMs),
    });
  });

  app.post<{ Params: { id: string } }>(
    '/v1/customers/:id/subscriptions',
    async (request, reply) => {
      const customerId = assertIdentifier(request.params.id, 'id');
      const body = readBody(request.body);
      const plan = readIdentifier(body, 'plan');
      const version =
        body.version === undefined ? undefined : parsePositiveQuantity(body.version, 'version');
      const quantity =
        body.quantity === undefined ? 1 : parsePositiveQuantity(body.quantity, 'quantity');
      const nowMs = context.clock();
      const pinned = pickPlanVersion(context.catalog, plan, version, nowMs);
      assertQuantityFits(pinned, quantity);

      const subscription = await context.store.transaction(
        request.principal.environment,
        async (tx) => {
          await loadCustomer(context, tx, customerId, nowMs);
          if ((await tx.getSubscription(customerId)) !== null) {
            throw new TollgateError(
              'TOLLGATE_ERR_CONFLICT',
              'The customer already has a subscription',
            );
          }
          const row = await tx.insertSubscription({
            customerId,
            plan,
            planVersion: pinned.version,
            anchorMs: nowMs,
            quantity,
            createdAtMs: nowMs,
          });
          // The anchor is now, so the first period has started: its recurring grants arrive here.
          await rolloverCustomer(tx, context.catalog, customerId, nowMs);
          return row;
        },
      );

      const period = periodAt(subscription.anchorMs, 'month', nowMs);
      return reply.status(201).send({
        id: subscription.id,
        customer: customerId,
        plan,
        version: subscription.planVersion,
        quantity,
        anchor: formatInstant(subscription.anchorMs),
        current_period_start: formatInstant(period.startMs),
        current_period_end: formatInstant(period.endMs),
      });
    },
  );
}
