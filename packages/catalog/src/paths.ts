import { TollgateError } from '@tollgate/core';

export function invalid(field: string, message: string): TollgateError {
  return new TollgateError('TOLLGATE_ERR_CATALOG_INVALID', message, { field });
}

/**
 * Formats a path the way a reader would write it: `plans.pro.versions[1]`, with keys that
 * contain a dot in brackets (`features["chat.fast"].cost`).
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z0-9_:-]+$/.test(String(segment))) {
      text += text === '' ? String(segment) : `.${String(segment)}`;
    } else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text;
}
