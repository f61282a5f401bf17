import { TollgateError } from '@tollgate/core';

/**
 * SQLite statements that read are prepared with `safeIntegers(true)`, so every INTEGER
 * arrives as a BigInt, exact at 64 bits. This turns each back into a number when that is
 * exact, and refuses the row otherwise (as the PostgreSQL store does): a balance above
 * 2^53 − 1 read as a rounded number would be silently wrong.
 */
export function exactRow<Row>(row: unknown): Row {
  if (row === undefined || row === null) return row as Row;
  const converted: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row as Record<string, unknown>)) {
    converted[column] = typeof value === 'bigint' ? exactNumber(value) : value;
  }
  return converted as Row;
}

export function exactRows<Row>(rows: readonly unknown[]): Row[] {
  return rows.map((row) => exactRow<Row>(row));
}

function exactNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new TollgateError('TOLLGATE_ERR_INTERNAL', 'A stored number is not exact', {
      detail: `${value} is outside the safe integer range`,
    });
  }
  return Number(value);
}
