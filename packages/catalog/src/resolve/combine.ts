import type { CombineRule } from '../types.js';

/** A value being resolved: access, and a limit where null means unlimited. */
export interface Value {
  access: boolean;
  limit: number | null;
}

/**
 * Applies one source's value to the value below it. `sum` and `max` treat unlimited as
 * absorbing (unlimited plus anything is unlimited); `set` replaces access and limit;
 * `or` grants access and leaves the limit. Every rule but `set` grants access, because
 * a source that contributes to a feature is bought or given in order to use it.
 */
export function combine(below: Value, rule: CombineRule, source: Value): Value {
  switch (rule) {
    case 'set':
      return { access: source.access, limit: source.limit };
    case 'or':
      return { access: below.access || source.access, limit: below.limit };
    case 'sum': {
      const base = below.access ? below.limit : 0;
      const limit = base === null || source.limit === null ? null : base + source.limit;
      return { access: true, limit };
    }
    case 'max': {
      const base = below.access ? below.limit : 0;
      const limit = base === null || source.limit === null ? null : Math.max(base, source.limit);
      return { access: true, limit };
    }
  }
}

export function sameValue(left: Value, right: Value): boolean {
  return left.access === right.access && left.limit === right.limit;
}
