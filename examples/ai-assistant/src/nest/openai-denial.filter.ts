import { Catch } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import { TollgateExceptionFilter, TollgateHttpException } from '@tollgate/nestjs';
import type { DenialProblem } from '@tollgate/runtime';
import { openAiDenial } from '../chat-completions.js';

/**
 * Adds the `error` member OpenAI clients read to the denials of the controller it is
 * bound to (`@UseFilters`), as the Express and Koa apps' second gate does for their
 * completions route; the other routes keep the plain problem document.
 */
@Catch(TollgateHttpException)
export class OpenAiDenialFilter implements ExceptionFilter<TollgateHttpException> {
  readonly #writer = new TollgateExceptionFilter();

  catch(exception: TollgateHttpException, host: ArgumentsHost): void {
    const { answer } = exception;
    if (!answer.contentType.startsWith('application/problem+json')) {
      this.#writer.catch(exception, host);
      return;
    }
    const body = JSON.stringify(openAiDenial(JSON.parse(answer.body) as DenialProblem));
    this.#writer.catch(new TollgateHttpException({ ...answer, body }), host);
  }
}
