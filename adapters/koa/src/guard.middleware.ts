import { isTollgateError } from '@tollgate/core';
import { HttpGate, errorAnswer } from '@tollgate/runtime';
import type { GuardSpec, HttpAnswer, RequestTollgate } from '@tollgate/runtime';
import type { Context, Middleware } from 'koa';
import './context.js';

/** Returns the request's context, creating it and watching the response on first use. */
export function contextOf(gate: HttpGate<Context>, ctx: Context): RequestTollgate {
  const existing = ctx.state.tollgate as RequestTollgate | undefined;
  if (existing !== undefined) return existing;
  const tollgate = gate.context(ctx);
  tollgate.watch(ctx.res);
  ctx.state.tollgate = tollgate;
  return tollgate;
}

/**
 * Builds a guard: hold before the downstream middleware, answer a denial or coded error,
 * and leave the settle or release to the Node response's end, which for a streamed body
 * is when its last byte is written. A constant quantity is checked here, once.
 */
export function guardMiddleware(
  gate: HttpGate<Context>,
  spec: (ctx: Context) => GuardSpec<Context>,
  constant: GuardSpec<Context>,
): Middleware {
  HttpGate.checkSpec(constant);
  return async (ctx, next) => {
    const tollgate = contextOf(gate, ctx);
    const admission = gate.admit(tollgate, ctx, spec(ctx));
    ctx.set(admission.headers);
    if (admission.answer !== null) return writeAnswer(ctx, admission.answer);
    await runDownstream(ctx, tollgate, next);
  };
}

/** Attaches `ctx.state.tollgate` and, like a guard, answers TollgateErrors thrown below. */
export function contextMiddleware(gate: HttpGate<Context>): Middleware {
  return async (ctx, next) => {
    await runDownstream(ctx, contextOf(gate, ctx), next);
  };
}

/**
 * Runs the rest of the chain. A thrown error marks the request failed so its holds are
 * released; a TollgateError is answered with its JSON, anything else goes on to Koa.
 */
async function runDownstream(
  ctx: Context,
  tollgate: RequestTollgate,
  next: () => Promise<unknown>,
): Promise<void> {
  try {
    await next();
  } catch (error) {
    tollgate.fail();
    if (!isTollgateError(error) || ctx.headerSent) throw error;
    writeAnswer(ctx, errorAnswer(error));
  }
}

function writeAnswer(ctx: Context, answer: HttpAnswer): void {
  ctx.status = answer.status;
  ctx.set(answer.headers);
  ctx.body = answer.body;
  // After the body, because assigning a string body picks a text type when none is set.
  ctx.type = answer.contentType;
}
