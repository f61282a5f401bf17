import { TollgateError } from '@tollgate/core';
import type { UsageEventInput } from './usage-batch.js';

/**
 * How far an event's time may stray from the control plane's clock. Event times are
 * stamped once, at the runtime's decision; a runtime whose clock runs ahead, or whose
 * events waited out an outage, sends times off the control plane's now.
 */
export interface UsageTimePolicy {
  /** Accepted up to this far ahead of now (a runtime clock running fast). */
  skewFutureMs: number;
  /** Accepted up to this far behind now (events queued through an outage). */
  gracePastMs: number;
}

export const defaultUsageTimePolicy: UsageTimePolicy = {
  skewFutureMs: 5 * 60_000,
  gracePastMs: 24 * 60 * 60_000,
};

/** One event the control plane would not record, as the usage answer reports it. */
export interface RejectedEvent {
  index: number;
  key: string;
  code: string;
  message: string;
}

/**
 * Splits a batch into events whose time lies within the policy's window around `nowMs`
 * and the rejected rest. A rejection is per event, so one bad clock does not cost the
 * batch's other events; the runtime sees each rejection with its code.
 */
export function partitionByTime(
  events: readonly UsageEventInput[],
  policy: UsageTimePolicy,
  nowMs: number,
): { kept: { index: number; event: UsageEventInput }[]; rejected: RejectedEvent[] } {
  const kept: { index: number; event: UsageEventInput }[] = [];
  const rejected: RejectedEvent[] = [];
  events.forEach((event, index) => {
    const error = timeError(event.timeMs, policy, nowMs, index);
    if (error === null) kept.push({ index, event });
    else rejected.push({ index, key: event.key, code: error.code, message: error.message });
  });
  return { kept, rejected };
}

function timeError(
  timeMs: number,
  policy: UsageTimePolicy,
  nowMs: number,
  index: number,
): TollgateError | null {
  const field = `events[${index}].time`;
  if (timeMs > nowMs + policy.skewFutureMs) {
    const aheadS = Math.round((timeMs - nowMs) / 1000);
    return new TollgateError(
      'TOLLGATE_ERR_USAGE_EVENT_TIME',
      `${field}: ${aheadS} s ahead of the control plane's clock; at most ` +
        `${policy.skewFutureMs / 1000} s are accepted`,
      { field },
    );
  }
  if (timeMs < nowMs - policy.gracePastMs) {
    const behindS = Math.round((nowMs - timeMs) / 1000);
    return new TollgateError(
      'TOLLGATE_ERR_USAGE_EVENT_TIME',
      `${field}: ${behindS} s behind the control plane's clock; at most ` +
        `${policy.gracePastMs / 1000} s are accepted`,
      { field },
    );
  }
  return null;
}
