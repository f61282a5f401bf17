import type { FastifyError, FastifyInstance } from 'fastify';
import { TollgateError, isTollgateError } from '@tollgate/core';

/**
 * Every error leaves as `{ code, message, field? }`. Tollgate errors keep their code and
 * status; Fastify's own client errors (bad JSON, wrong content type, body too large) become
 * `TOLLGATE_ERR_VALIDATION` on the field `body` with Fastify's status; anything else is an
 * internal error whose detail is logged and never sent.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler(async (request) => {
    throw new TollgateError('TOLLGATE_ERR_NOT_FOUND', `No route ${request.method} ${request.url}`);
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const failure = toTollgateError(error);
    if (failure.status >= 500) {
      request.log.error({ err: error, detail: failure.detail }, 'request failed');
    } else {
      request.log.debug({ code: failure.code, field: failure.field }, 'request refused');
    }
    return reply.status(failure.status).send(failure.toJSON());
  });
}

function toTollgateError(error: FastifyError): TollgateError {
  if (isTollgateError(error)) return error;
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return new TollgateError('TOLLGATE_ERR_VALIDATION', `body: ${error.message}`, {
      field: 'body',
      status,
    });
  }
  return new TollgateError('TOLLGATE_ERR_INTERNAL', 'Internal error', {
    detail: error.message,
    cause: error,
  });
}
