import { createParamDecorator } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import type { RequestTollgate } from '@tollgate/runtime';

/** Where the guard leaves the request's context, shared with the Express adapter. */
export function requestTollgateOf(request: object): RequestTollgate | undefined {
  return (request as { tollgate?: RequestTollgate }).tollgate;
}

/**
 * Hands the handler the request's `RequestTollgate`: the last decision, `setActual` for
 * the quantity really used, and `check`, `consume` and `reserve` for the customer.
 *
 * @example
 * @Post('complete')
 * @Reserve('api_tokens', 4000)
 * complete(@TollgateContext() tollgate: RequestTollgate) {
 *   tollgate.setActual(reply.usage.total_tokens);
 * }
 */
export const TollgateContext = createParamDecorator(
  (_data: unknown, context: ExecutionContext): RequestTollgate | undefined =>
    requestTollgateOf(context.switchToHttp().getRequest<object>()),
);

/**
 * Hands the handler the decision the route's guard made (null when it made none).
 *
 * @example
 * @Get('usage')
 * @RequireFeature('api_calls')
 * usage(@TollgateDecision() decision: Decision) { return { remaining: decision.remaining }; }
 */
export const TollgateDecision = createParamDecorator(
  (_data: unknown, context: ExecutionContext) =>
    requestTollgateOf(context.switchToHttp().getRequest<object>())?.decision ?? null,
);
