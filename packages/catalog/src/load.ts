import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { TollgateError } from '@tollgate/core';
import { catalogFileSchema } from './schema.js';
import { normalizeCatalog } from './normalize.js';
import { formatPath, invalid } from './paths.js';
import type { Catalog } from './types.js';

/**
 * Reads, validates and normalises a catalog file. Throws `TOLLGATE_ERR_CATALOG_INVALID`
 * whose `field` is the path of the first bad field, e.g.
 * `plans.pro.versions[1].entitlements.max_projects.limit: expected a non-negative integer`.
 *
 * @example
 * const catalog = loadCatalogFile('catalog.yaml');
 * catalog.features.get('chat.smart')?.cost; // 5
 */
export function loadCatalogFile(path: string): Catalog {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TollgateError('TOLLGATE_ERR_CATALOG_INVALID', `cannot read catalog ${path}`, {
      cause,
    });
  }
  return parseCatalog(text, path);
}

/** Parses catalog YAML text; `source` names the file in error messages. */
export function parseCatalog(text: string, source = 'catalog'): Catalog {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const yamlError = document.errors[0];
  if (yamlError !== undefined) {
    const where = yamlError.linePos?.[0];
    const at = where === undefined ? '' : ` at line ${where.line}, column ${where.col}`;
    throw invalid('', `${source}: not valid YAML${at}: ${yamlError.code}`);
  }

  const parsed = catalogFileSchema.safeParse(document.toJS());
  if (!parsed.success) {
    const issue = deepestIssue(parsed.error.issues);
    const field = formatPath(issue.path);
    throw invalid(field, `${field || '(root)'}: ${issue.message}`);
  }
  return normalizeCatalog(parsed.data);
}

/**
 * A union reports one issue for all its options; the option that got furthest into the
 * value is the one the author meant, so its deepest issue is the useful one to show.
 */
function deepestIssue(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue {
  let best = issues[0]!;
  let bestDepth = -1;
  for (const issue of issues) {
    let candidate: z.core.$ZodIssue = issue;
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const nested = issue.errors.flat().map((inner) => ({
        ...inner,
        path: [...issue.path, ...inner.path],
      }));
      const inner = deepestIssue(nested as z.core.$ZodIssue[]);
      if (inner.path.length > issue.path.length) candidate = inner;
    }
    if (candidate.path.length > bestDepth) {
      best = candidate;
      bestDepth = candidate.path.length;
    }
  }
  return best;
}
