import type { NewUsageEvent } from './store.js';

/** The identity of a usage event: its customer and key. */
export function usageEventId(customerId: string, key: string): string {
  return `${customerId}\u0000${key}`;
}

/**
 * The events without repeats of an earlier (customer, key), in order. One INSERT cannot
 * say which of two equal keys it kept, so the stores insert only the first of each.
 */
export function firstOccurrences<Event extends NewUsageEvent>(events: readonly Event[]): Event[] {
  const firsts = new Map<string, Event>();
  for (const event of events) {
    const id = usageEventId(event.customerId, event.key);
    if (!firsts.has(id)) firsts.set(id, event);
  }
  return [...firsts.values()];
}

/**
 * Per event, the sequence the store gave it, from the rows an INSERT … RETURNING sent back;
 * null for an event the store held already and for every repeat after the first.
 */
export function sequencesInOrder(
  events: readonly NewUsageEvent[],
  sequences: Map<string, number>,
): (number | null)[] {
  return events.map((event) => {
    const id = usageEventId(event.customerId, event.key);
    const sequence = sequences.get(id) ?? null;
    sequences.delete(id);
    return sequence;
  });
}
