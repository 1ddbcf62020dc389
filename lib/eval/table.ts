/**
 * A dataset or predictions table as VLMEvalKit sees it after `pd.read_csv(path, sep='\t')`:
 * pandas' missing values (its default `na_values`, `'None'` included as in pandas 2), and its
 * per-column type inference, so that `str(cell)` gives the same text as in VLMEvalKit (a column
 * of only numbers becomes int64 or float64: `"2"` reads back as `2.0` when the column also holds
 * a decimal or an empty cell; `"True"` becomes a bool).
 */
import { pyFloatRepr } from './pylike.js';

/** pandas 2's default `na_values` (`pandas._libs.parsers.STR_NA_VALUES`). */
export const PANDAS_NA = new Set([
  '', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN',
  'None', 'n/a', 'nan', 'null',
]);

export type ColumnKind = 'int' | 'float' | 'bool' | 'object';

const INT_RE = /^\s*[+-]?\d+\s*$/;
const FLOAT_RE = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$|^\s*[+-]?(?:inf|infinity)\s*$/i;
const TRUE = new Set(['True', 'TRUE', 'true']);
const FALSE = new Set(['False', 'FALSE', 'false']);
const INT64_MAX = 2n ** 63n - 1n;

/** True where pandas reads the cell as NaN. */
export function isNA(raw: string | null | undefined): boolean {
  return raw === null || raw === undefined || PANDAS_NA.has(raw);
}

/** The dtype pandas infers for a column from its cells. */
export function inferKind(cells: Iterable<string | null>): ColumnKind {
  let ints = true;
  let floats = true;
  let bools = true;
  let na = false;
  let any = false;
  for (const c of cells) {
    if (isNA(c)) {
      na = true;
      continue;
    }
    any = true;
    const v = c as string;
    if (ints && !(INT_RE.test(v) && BigInt(v.trim()) <= INT64_MAX && BigInt(v.trim()) >= -INT64_MAX - 1n)) ints = false;
    if (floats && !FLOAT_RE.test(v)) floats = false;
    if (bools && !TRUE.has(v) && !FALSE.has(v)) bools = false;
    if (!ints && !floats && !bools) return 'object';
  }
  if (!any) return 'float'; // an all-empty column is float64 (all NaN)
  if (bools) return 'bool'; // with empty cells an object column of True/False/NaN: str() the same
  if (ints && !na) return 'int';
  if (ints || floats) return 'float';
  return 'object';
}

/** `str(value)` of a cell of a column of that kind, as VLMEvalKit's `str(x)` prints it. */
export function pyCell(kind: ColumnKind, raw: string | null | undefined): string {
  if (isNA(raw)) return 'nan';
  const v = raw as string;
  switch (kind) {
    case 'int':
      return BigInt(v.trim()).toString();
    case 'float':
      return pyFloatRepr(Number(v.trim().replace(/^([+-]?)inf(inity)?$/i, '$1Infinity')));
    case 'bool':
      return TRUE.has(v) ? 'True' : 'False';
    default:
      return v; // an object column keeps its strings as written
  }
}

/** The rows of one table, each cell the raw text of the file (null where the file had none). */
export class Table {
  readonly columns: readonly string[];
  readonly rows: (string | null)[][];
  readonly #pos: Map<string, number>;
  readonly #kinds = new Map<string, ColumnKind>();

  constructor(columns: readonly string[], rows: (string | null)[][]) {
    this.columns = columns;
    this.rows = rows;
    this.#pos = new Map(columns.map((c, i) => [c, i]));
  }

  has(column: string): boolean {
    return this.#pos.has(column);
  }

  /** The column's pandas dtype (over all rows of the file). */
  kind(column: string): ColumnKind {
    let k = this.#kinds.get(column);
    if (k === undefined) {
      const i = this.#pos.get(column);
      k = i === undefined ? 'object' : inferKind(this.rows.map((r) => r[i] ?? null));
      this.#kinds.set(column, k);
    }
    return k;
  }

  /** The raw text of a cell, null when the column is absent or the cell empty. */
  raw(row: number, column: string): string | null {
    const i = this.#pos.get(column);
    return i === undefined ? null : this.rows[row][i] ?? null;
  }

  /** pd.isna(cell) (true also when the column is absent). */
  na(row: number, column: string): boolean {
    return isNA(this.raw(row, column));
  }

  /** str(cell) as VLMEvalKit computes it. */
  str(row: number, column: string): string {
    return pyCell(this.kind(column), this.raw(row, column));
  }

  /** A view of one row. */
  row(row: number): RowView {
    return new RowView(this, row);
  }
}

/** One row of a {@link Table}: `str(line[col])`, `pd.isna(line[col])`, `col in line`. */
export class RowView {
  constructor(
    readonly table: Table,
    readonly at: number,
  ) {}
  has(column: string): boolean {
    return this.table.has(column);
  }
  na(column: string): boolean {
    return this.table.na(this.at, column);
  }
  str(column: string): string {
    return this.table.str(this.at, column);
  }
  raw(column: string): string | null {
    return this.table.raw(this.at, column);
  }
}
