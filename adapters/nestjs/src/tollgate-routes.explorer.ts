import { Inject, Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { TollgateError, parseQuantity } from '@tollgate/core';
import { TOLLGATE_ROUTE } from './tollgate.constants.js';
import type { RouteGuardSpec } from './tollgate-options.interface.js';
import { TollgateService } from './tollgate.service.js';

/**
 * Checks every route decorator when the application starts: a constant feature the
 * loaded catalog lacks, or a constant quantity that is not one, fails `app.init()` with
 * an error naming the handler — a typo found at deploy time, not on a customer's request.
 * Feature functions (`(request) => \`chat.${model}\``) are decided per request instead.
 */
@Injectable()
export class TollgateRoutesExplorer implements OnModuleInit {
  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(MetadataScanner) private readonly scanner: MetadataScanner,
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(TollgateService) private readonly service: TollgateService,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as (abstract new () => object) | null;
      if (controller === null || controller === undefined) continue;
      this.#checkController(controller);
    }
  }

  #checkController(controller: abstract new () => object): void {
    const classSpec = this.#specOf(controller);
    if (classSpec !== undefined) this.#check(classSpec, controller.name);
    const prototype = controller.prototype as Record<string, unknown>;
    for (const method of this.scanner.getAllMethodNames(prototype)) {
      const spec = this.#specOf(prototype[method] as () => unknown);
      if (spec !== undefined) this.#check(spec, `${controller.name}.${method}`);
    }
  }

  #specOf(target: object): RouteGuardSpec | undefined {
    return this.reflector.get<RouteGuardSpec | undefined>(TOLLGATE_ROUTE, target as () => void);
  }

  #check(spec: RouteGuardSpec, handler: string): void {
    const decorator = `@${spec.decorator}`;
    if (
      typeof spec.feature === 'string' &&
      this.service.runtime.featureKind(spec.feature) === null
    ) {
      throw new TollgateError(
        'TOLLGATE_ERR_UNKNOWN_FEATURE',
        `${handler}: ${decorator}('${spec.feature}') names a feature the catalog lacks`,
        { field: 'feature' },
      );
    }
    if (typeof spec.quantity === 'number') parseQuantity(spec.quantity, `${handler} quantity`);
  }
}
