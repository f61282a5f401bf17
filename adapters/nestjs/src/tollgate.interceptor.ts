import { HttpException, Inject, Injectable } from '@nestjs/common';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { isTollgateError } from '@tollgate/core';
import { checkedQuantity, errorAnswer } from '@tollgate/runtime';
import type { RequestTollgate } from '@tollgate/runtime';
import { catchError, tap, throwError } from 'rxjs';
import type { Observable } from 'rxjs';
import { TOLLGATE_ROUTE } from './tollgate.constants.js';
import { TollgateHttpException } from './tollgate.exception.js';
import { requestTollgateOf } from './tollgate-context.decorator.js';
import type { NestHttpRequest, RouteGuardSpec } from './tollgate-options.interface.js';

/**
 * Watches the handler's outcome. Each value it returns or emits (a plain value, a
 * promise, an Observable, an SSE stream) may carry the quantity for `@Reserve`'s
 * `actual`; an error releases the request's holds. The settle itself happens when the
 * response ends, so a stream pays once its last byte is written.
 *
 * An `HttpException` below 500 is an answer, not a failure: whether it is charged
 * follows the module's `chargeClientErrors`, like a 4xx returned any other way.
 */
@Injectable()
export class TollgateInterceptor implements NestInterceptor {
  constructor(@Inject(Reflector) private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<NestHttpRequest>();
    const tollgate = requestTollgateOf(request);
    if (tollgate === undefined) return next.handle();
    const spec = this.reflector.getAllAndOverride<RouteGuardSpec | undefined>(TOLLGATE_ROUTE, [
      context.getHandler(),
      context.getClass(),
    ]);
    const actual = spec?.actual ?? null;

    return next.handle().pipe(
      tap((result) => {
        if (actual !== null) {
          tollgate.setActual(checkedQuantity(actual(result, request), 'actual function'));
        }
      }),
      catchError((error: unknown) => throwError(() => failure(tollgate, error))),
    );
  }
}

/** Marks the request failed (unless the error is a client error) and maps coded errors. */
function failure(tollgate: RequestTollgate, error: unknown): unknown {
  if (error instanceof HttpException && error.getStatus() < 500) return error;
  tollgate.fail();
  return isTollgateError(error) ? new TollgateHttpException(errorAnswer(error)) : error;
}
