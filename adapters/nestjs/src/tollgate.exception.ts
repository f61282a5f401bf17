import { HttpException } from '@nestjs/common';
import type { HttpAnswer } from '@tollgate/runtime';

/**
 * A denial or coded error on its way to the client. An `HttpException`, so Nest treats it
 * as an expected answer rather than a crash; `TollgateExceptionFilter` writes it as
 * `application/problem+json` (denials) or `application/json` (coded errors).
 */
export class TollgateHttpException extends HttpException {
  readonly answer: HttpAnswer;

  constructor(answer: HttpAnswer) {
    super(JSON.parse(answer.body) as Record<string, unknown>, answer.status);
    this.answer = answer;
  }
}
