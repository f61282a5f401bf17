import { SetMetadata } from '@nestjs/common';
import type { FeatureSource, QuantitySource } from '@tollgate/runtime';
import { TOLLGATE_ROUTE } from './tollgate.constants.js';
import type {
  ActualFromResult,
  NestHttpRequest,
  RouteGuardSpec,
} from './tollgate-options.interface.js';

type Feature = FeatureSource<NestHttpRequest>;
type Quantity = QuantitySource<NestHttpRequest>;

function route(spec: RouteGuardSpec): MethodDecorator & ClassDecorator {
  return SetMetadata(TOLLGATE_ROUTE, spec);
}

/**
 * Holds `quantity` (default 1) of `feature` before the handler and settles it after a
 * successful response. A feature the catalog lacks fails the application's startup.
 *
 * @example
 * @Get('export/pdf')
 * @RequireFeature('export_pdf')
 * exportPdf() { ... }
 */
export function RequireFeature(
  feature: Feature,
  options: { quantity?: Quantity } = {},
): MethodDecorator & ClassDecorator {
  return route({
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
 * @Meter('image.generate', (request) => parseQuantity(request.body.count, 'count'))
 * generate(@Body() body: ImageRequest) { ... }
 */
export function Meter(feature: Feature, quantity: Quantity): MethodDecorator & ClassDecorator {
  return route({ decorator: 'Meter', feature, quantity, actual: null });
}

/**
 * Holds `estimate`; after success settles `actual(result, request)` computed from what the
 * handler returned, or what the handler reported with `@TollgateContext()`'s
 * `setActual` (the way for streams), or else the estimate.
 *
 * @example
 * @Post('complete')
 * @Reserve('api_tokens', 4000, (reply) => (reply as Completion).usage.total_tokens)
 * complete(@Body() body: CompletionRequest) { ... }
 */
export function Reserve(
  feature: Feature,
  estimate: Quantity,
  actual?: ActualFromResult,
): MethodDecorator & ClassDecorator {
  return route({ decorator: 'Reserve', feature, quantity: estimate, actual: actual ?? null });
}
