import { HttpGate } from '@tollgate/runtime';
import type { GuardSpec, HttpAnswer, RequestTollgate } from '@tollgate/runtime';
import type { Request, RequestHandler, Response } from 'express';

/** Returns the request's context, creating it and watching the response on first use. */
export function contextOf(gate: HttpGate<Request>, req: Request, res: Response): RequestTollgate {
  if (req.tollgate !== undefined) return req.tollgate;
  const tollgate = gate.context(req);
  tollgate.watch(res);
  req.tollgate = tollgate;
  return tollgate;
}

/**
 * Builds a guard: hold before the handler, answer a denial or coded error, and leave the
 * settle or release to the response's end. A constant quantity is checked here, once.
 */
export function guardMiddleware(
  gate: HttpGate<Request>,
  spec: (req: Request, res: Response) => GuardSpec<Request>,
  constant: GuardSpec<Request>,
): RequestHandler {
  HttpGate.checkSpec(constant);
  return (req, res, next) => {
    const tollgate = contextOf(gate, req, res);
    let admission;
    try {
      admission = gate.admit(tollgate, req, spec(req, res));
    } catch (error) {
      next(error);
      return;
    }
    setHeaders(res, admission.headers);
    if (admission.answer !== null) return sendAnswer(res, admission.answer);
    next();
  };
}

export function sendAnswer(res: Response, answer: HttpAnswer): void {
  setHeaders(res, answer.headers);
  res.status(answer.status).type(answer.contentType).send(answer.body);
}

/** A plain loop: most allowed requests carry no headers, and `Object.entries` allocates. */
function setHeaders(res: Response, headers: Record<string, string>): void {
  for (const name in headers) res.setHeader(name, headers[name]!);
}
