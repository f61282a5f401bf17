import type { ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { HttpGate } from '@tollgate/runtime';
import type { RequestReader, RequestTollgate, Tollgate } from '@tollgate/runtime';
import { TOLLGATE_OPTIONS, settlementChannelName } from './tollgate.constants.js';
import { requestTollgateOf } from './tollgate-context.decorator.js';
import type { NestHttpRequest, TollgateModuleOptions } from './tollgate-options.interface.js';

const reader: RequestReader<NestHttpRequest> = {
  header(request, name) {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  },
  claims: (request) => request.user,
};

/** The Node response under a platform's response (Express's is one; Fastify's has `raw`). */
export function nodeResponseOf(response: object): ServerResponse {
  return ('raw' in response ? response.raw : response) as ServerResponse;
}

/**
 * The runtime and the HTTP gate of the application. Inject it to reach the runtime
 * outside a request (`tollgate.runtime.check(...)`).
 */
@Injectable()
export class TollgateService {
  readonly runtime: Tollgate;
  readonly gate: HttpGate<NestHttpRequest>;

  constructor(@Inject(TOLLGATE_OPTIONS) options: TollgateModuleOptions) {
    const { runtime, globalGuard: _globalGuard, ...gateOptions } = options;
    this.runtime = runtime;
    this.gate = new HttpGate(runtime, gateOptions, reader, settlementChannelName);
  }

  /** The request's context, created and bound to the response's end on first use. */
  contextOf(request: NestHttpRequest, response: object): RequestTollgate {
    const existing = requestTollgateOf(request);
    if (existing !== undefined) return existing;
    const tollgate = this.gate.context(request);
    tollgate.watch(nodeResponseOf(response));
    (request as { tollgate?: RequestTollgate }).tollgate = tollgate;
    return tollgate;
  }
}
