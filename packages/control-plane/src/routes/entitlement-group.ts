import type { FastifyInstance } from 'fastify';
import { registerEntitlementRoutes } from './entitlements.routes.js';
import { registerSeatRoutes } from './seats.routes.js';
import { registerSubscriptionRoutes } from './subscriptions.routes.js';
import type { RouteContext } from './route-context.js';

/** The routes of entitlement resolution (issue #3): trials, overrides, lifecycle, seats. */
export function registerEntitlementRouteGroup(app: FastifyInstance, context: RouteContext): void {
  registerEntitlementRoutes(app, context);
  registerSubscriptionRoutes(app, context);
  registerSeatRoutes(app, context);
}
