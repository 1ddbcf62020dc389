/**
 * What a scorer returns: the table VLMEvalKit writes as `<model>_<dataset>_acc.csv` (or
 * `_score.csv`), with its numbers printed as pandas prints them, and the headline number.
 */
import { pyFloatRepr } from '../pylike.js';
import { tableText } from '../tsv.js';

/** A score table: column names and rows (numbers are float64 unless their column is in `intColumns`; null = NaN). */
export interface ScoreTable {
  columns: string[];
  rows: (string | number | null)[][];
  /** Columns pandas holds as int64 (counts), printed without ".0". */
  intColumns?: string[];
}

export interface Scores {
  /** The table as VLMEvalKit writes it. */
  table: ScoreTable;
  /** The headline number (0-100; MME: perception + reasoning, 0-2800). */
  overall?: number;
  /** What `overall` is. */
  overallLabel?: string;
  /** Every number of the table, keyed "row|column" (or "column" for a one-row table). */
  metrics: Record<string, number | null>;
  /** Set where the scoring departs from VLMEvalKit's default run. */
  note?: string;
}

/** `np.mean` (NaN for no values). */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** The metrics map of a table; with `labelled`, its first column names the rows. */
export function flatten(table: ScoreTable, labelled: boolean): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const row of table.rows) {
    table.columns.forEach((c, i) => {
      if (labelled && i === 0) return;
      const v = row[i];
      const key = labelled && table.rows.length > 1 ? `${row[0]}|${c}` : c;
      out[key] = typeof v === 'number' && !Number.isNaN(v) ? v : null;
    });
  }
  return out;
}

/** The table as pandas' `to_csv(index=False, quoting=csv.QUOTE_ALL)` writes it. */
export function scoreCsv(table: ScoreTable): string {
  const ints = new Set(table.intColumns ?? []);
  const rows = table.rows.map((r) =>
    r.map((v, i) => {
      if (v === null || (typeof v === 'number' && Number.isNaN(v))) return null;
      if (typeof v === 'string') return v;
      return ints.has(table.columns[i]) ? String(v) : pyFloatRepr(v);
    }),
  );
  return tableText(table.columns, rows, ',');
}
