import { Inject, Injectable } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { TOLLGATE_ROUTE } from './tollgate.constants.js';
import { TollgateHttpException } from './tollgate.exception.js';
import type { NestHttpRequest, RouteGuardSpec } from './tollgate-options.interface.js';
import { TollgateService, nodeResponseOf } from './tollgate.service.js';

/**
 * The requests a `TollgateGuard` has already admitted. With the global guard on, a route
 * that also lists `@UseGuards(TollgateGuard)` runs the guard twice; the second run must
 * not place a second hold, or the request would pay twice.
 */
const admitted = new WeakSet<object>();

/**
 * Places the hold a route's `@RequireFeature`, `@Meter` or `@Reserve` asks for, before
 * the handler runs. A denial or coded error is thrown as a `TollgateHttpException`; the
 * hold is settled or released when the response ends. `TollgateModule` installs it
 * globally; routes without a decorator only get a `@TollgateContext()`. It admits each
 * request once, however many times it is listed.
 */
@Injectable()
export class TollgateGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(TollgateService) private readonly service: TollgateService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const request = http.getRequest<NestHttpRequest>();
    if (admitted.has(request)) return true;
    admitted.add(request);
    const response = http.getResponse<object>();
    const tollgate = this.service.contextOf(request, response);

    const spec = this.reflector.getAllAndOverride<RouteGuardSpec | undefined>(TOLLGATE_ROUTE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (spec === undefined) return true;

    const { feature, quantity } = spec;
    const admission = this.service.gate.admit(tollgate, request, { feature, quantity });
    const node = nodeResponseOf(response);
    for (const [name, value] of Object.entries(admission.headers)) node.setHeader(name, value);
    if (admission.answer !== null) throw new TollgateHttpException(admission.answer);
    return true;
  }
}
