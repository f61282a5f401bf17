/**
 * The recent idempotency keys of one runtime, per customer, with what their first call
 * returned. Bounded: past `entriesMax` keys the least recently used one is forgotten,
 * so a retry that arrives after that many other keyed calls is treated as new. The
 * control plane deduplicates usage events by key as well, so a forgotten key can make a
 * second local decision but never a second charge.
 */
export class RecentKeyCache<Value> {
  readonly #entries = new Map<string, Value>();
  readonly #entriesMax: number;

  constructor(entriesMax: number) {
    if (!Number.isSafeInteger(entriesMax) || entriesMax < 1) {
      throw new RangeError(`entriesMax must be a positive integer, received ${entriesMax}`);
    }
    this.#entriesMax = entriesMax;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** What the first call with this key returned, or undefined when the key is new. */
  get(customer: string, key: string): Value | undefined {
    const id = entryId(customer, key);
    const value = this.#entries.get(id);
    if (value === undefined) return undefined;
    // Re-inserting moves the key to the young end of the Map's insertion order.
    this.#entries.delete(id);
    this.#entries.set(id, value);
    return value;
  }

  set(customer: string, key: string, value: Value): void {
    const id = entryId(customer, key);
    this.#entries.delete(id);
    this.#entries.set(id, value);
    if (this.#entries.size > this.#entriesMax) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }
}

/** Identifiers cannot contain a space, so the space separates customer and key unambiguously. */
function entryId(customer: string, key: string): string {
  return `${customer} ${key}`;
}
