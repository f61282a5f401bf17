import { Catch } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import { TollgateHttpException } from './tollgate.exception.js';
import { nodeResponseOf } from './tollgate.service.js';

/**
 * Writes a `TollgateHttpException` with its own content type and headers, which Nest's
 * default filter would replace with plain JSON.
 */
@Catch(TollgateHttpException)
export class TollgateExceptionFilter implements ExceptionFilter<TollgateHttpException> {
  catch(exception: TollgateHttpException, host: ArgumentsHost): void {
    const response = nodeResponseOf(host.switchToHttp().getResponse<object>());
    if (response.headersSent) {
      response.destroy();
      return;
    }
    const { status, headers, contentType, body } = exception.answer;
    response.statusCode = status;
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    response.setHeader('content-type', contentType);
    response.end(body);
  }
}
