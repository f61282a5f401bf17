import { SetMetadata } from '@nestjs/common';
import type { FeatureSource, QuantitySource } from '@tollgate/runtime';
import { TOLLGATE_ROUTE } from './tollgate.constants.js';
import type {
  ActualFromResult,
  NestHttpRequest,
  RouteGuardSpec,
} from './tollgate-options.interface.js';

type Feature<Body> = FeatureSource<NestHttpRequest<Body>>;
type Quantity<Body> = QuantitySource<NestHttpRequest<Body>>;

/**
 * Stores a route's spec. The functions are typed for the body the route declares; the
 * guard calls them with the request Nest parsed, so widening them to `unknown` here only
 * forgets a type the caller chose.
 */
function route<Body>(spec: {
  decorator: RouteGuardSpec['decorator'];
  feature: Feature<Body>;
  quantity: Quantity<Body>;
  actual: ActualFromResult<never, Body> | null;
}): MethodDecorator & ClassDecorator {
  return SetMetadata(TOLLGATE_ROUTE, spec as RouteGuardSpec);
}

/**
 * Holds `quantity` (default 1) of `feature` before the handler and settles it after a
 * successful response. A feature the catalog lacks fails the application's startup.
 * The type parameter types `request.body` in the functions, as `@Body()` does.
 *
 * @example
 * @Get('export/pdf')
 * @RequireFeature('export_pdf')
 * exportPdf() { ... }
 */
export function RequireFeature<Body = unknown>(
  feature: Feature<Body>,
  options: { quantity?: Quantity<Body> } = {},
): MethodDecorator & ClassDecorator {
  return route<Body>({
    decorator: 'RequireFeature',
    feature,
    quantity: options.quantity ?? 1,
    actual: null,
  });
}

/**
 * Holds the quantity the request names and settles it after a successful response.
 *
 * @example
 * @Post('images')
 * @Meter<ImageRequest>('image.generate', (request) => parseQuantity(request.body.count, 'count'))
 * generate(@Body() body: ImageRequest) { ... }
 */
export function Meter<Body = unknown>(
  feature: Feature<Body>,
  quantity: Quantity<Body>,
): MethodDecorator & ClassDecorator {
  return route<Body>({ decorator: 'Meter', feature, quantity, actual: null });
}

/**
 * Holds `estimate`; after success settles `actual(result, request)` computed from what the
 * handler returned, or what the handler reported with `@TollgateContext()`'s
 * `setActual` (the way for streams), or else the estimate. `Result` types what the
 * handler returns (or its Observable emits).
 *
 * @example
 * @Post('complete')
 * @Reserve<CompletionRequest, Completion>('api_tokens', 4000, (reply) => reply.usage.total_tokens)
 * complete(@Body() body: CompletionRequest): Promise<Completion> { ... }
 */
export function Reserve<Body = unknown, Result = unknown>(
  feature: Feature<Body>,
  estimate: Quantity<Body>,
  actual?: ActualFromResult<Result, Body>,
): MethodDecorator & ClassDecorator {
  const spec = { decorator: 'Reserve' as const, feature, quantity: estimate };
  return route<Body>({ ...spec, actual: (actual ?? null) as ActualFromResult<never, Body> | null });
}
