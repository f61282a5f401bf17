/** The injection token of the module's options (`TollgateModuleOptions`). */
export const TOLLGATE_OPTIONS = Symbol.for('tollgate.nestjs.options');

/** The metadata key under which the route decorators store their `RouteGuardSpec`. */
export const TOLLGATE_ROUTE = 'tollgate:route';

/** The diagnostics channel each settled or released hold is published on. */
export const settlementChannelName = 'tollgate:nestjs:settlement';
