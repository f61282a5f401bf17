/**
 * What every suite returns. A row is one measured figure; when it has a baseline measured
 * in the same run, `ratio` says how many times the baseline's figure it is (lower is
 * better for times, higher for throughputs: `better` says which).
 */
export interface ResultRow {
  /** The question, e.g. "check by id, hot set, 100k customers". */
  case: string;
  /** What answered it, e.g. "Wasm evaluator". */
  subject: string;
  value: number;
  unit: string;
  /** The subject's figure divided by the baseline's, from the same run. */
  ratio?: number;
  /** The baseline of `ratio`, e.g. "naive Map". */
  versus?: string;
}

export interface TargetCheck {
  target: string;
  measured: string;
  /** null when the run could not measure it (say why in `note`). */
  met: boolean | null;
  note?: string;
}

export interface SuiteResult {
  suite: string;
  title: string;
  budgetMs: number;
  elapsedMs: number;
  inputs: string;
  rows: ResultRow[];
  targets: TargetCheck[];
  notes: string[];
}

/** Adds `ratio` and `versus` to every row of `case` against the row of `baseline`. */
export function ratiosAgainst(rows: ResultRow[], baseline: string): void {
  const byCase = new Map<string, ResultRow>();
  for (const row of rows) if (row.subject === baseline) byCase.set(row.case, row);
  for (const row of rows) {
    const base = byCase.get(row.case);
    if (base === undefined || row === base || base.value === 0) continue;
    row.ratio = row.value / base.value;
    row.versus = baseline;
  }
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** "3.2× faster" style wording is left to readers; the table prints the bare ratio. */
export function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined) return '';
  return ratio >= 10 ? `${ratio.toFixed(1)}×` : `${ratio.toFixed(2)}×`;
}

export function target(
  name: string,
  measured: number,
  limit: number,
  unit: string,
  direction: 'at most' | 'at least',
  note?: string,
): TargetCheck {
  if (!Number.isFinite(measured)) {
    return { target: name, measured: 'not measured', met: null, ...(note ? { note } : {}) };
  }
  const met = direction === 'at most' ? measured <= limit : measured >= limit;
  const by = direction === 'at most' ? measured / limit : limit / measured;
  const verdict = met ? 'met' : `missed by ${by.toFixed(2)}×`;
  const check: TargetCheck = {
    target: name,
    measured: `${formatNumber(measured)} ${unit} (${verdict})`,
    met,
  };
  if (note !== undefined) check.note = note;
  return check;
}
