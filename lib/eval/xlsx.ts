/**
 * VLMEvalKit's .xlsx result files: what `dump` writes by default (`PRED_FORMAT` unset:
 * `<model>_<dataset>.xlsx`, pandas' `to_excel(index=False)` through xlsxwriter) read back as
 * `load` reads it (`pd.read_excel`, the first sheet, its first row the header), into the same
 * {@link Table} of raw cell texts a TSV gives. Read with exceljs's streaming reader, so the
 * parse yields to the event loop as it goes.
 */
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Row } from 'exceljs';
import { invalid, SmolVLMError } from '../errors.js';
import { mangle } from './tsv.js';
import { Table } from './table.js';

/**
 * exceljs, loaded on first use. It is an optional peer dependency (23 MB installed, for a file
 * format only `--score` of VLMEvalKit's workbooks needs), so every other user does not carry it.
 */
async function loadExcelJS(): Promise<typeof import('exceljs')> {
  try {
    return (await import('exceljs')).default as unknown as typeof import('exceljs');
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw invalid('reading .xlsx predictions needs the optional package exceljs: npm install exceljs (or save them as .tsv)');
  }
}

/** Whether `path` names an .xlsx file (by its extension, as VLMEvalKit's `load` decides). */
export function isXlsx(path: string): boolean {
  return /\.xlsx$/i.test(path);
}

/**
 * A cell's text as pandas would hold it after `read_excel` (its `str`, or null for an empty cell):
 * numbers in their shortest form (integral floats as integers, as pandas' openpyxl reader gives
 * them), booleans as `True` / `False`, rich text joined, a formula's cached result, an error
 * value's text (`#N/A`, which pandas reads as NaN).
 */
export function cellText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v instanceof Date) return v.toISOString().replace('T', ' ').replace(/(\.000)?Z$/, '');
  if (typeof v === 'object') {
    const o = v as { richText?: { text: string }[]; result?: unknown; formula?: string; text?: unknown; error?: string; sharedFormula?: string };
    if (Array.isArray(o.richText)) return o.richText.map((r) => r.text).join('');
    if ('result' in o || o.formula !== undefined || o.sharedFormula !== undefined) return cellText(o.result);
    if (o.error !== undefined) return String(o.error);
    if (o.text !== undefined) return cellText(o.text);
  }
  return String(v);
}

/**
 * Reads the first sheet of an .xlsx file as a table: the first row names the columns (a blank
 * header cell is `Unnamed: i`, duplicates `a.1`, as pandas names them), missing rows are empty.
 * @throws InvalidArgumentError naming the file (missing, not an xlsx workbook, no header row)
 */
export async function readXlsx(path: string, options: { signal?: AbortSignal } = {}): Promise<{ path: string; table: Table }> {
  if (!existsSync(path)) throw invalid(`${path}: no such file`);
  // an .xlsx is a zip archive: anything else is refused before the zip reader sees it
  const head = Buffer.alloc(4);
  const fh = await open(path, 'r');
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  if (head.readUInt32LE(0) !== 0x04034b50) throw invalid(`${path}: not a readable .xlsx workbook: not a zip archive`);
  let header: string[] | undefined;
  const rows: (string | null)[][] = [];
  let lastRow = 0;
  try {
    const ExcelJS = await loadExcelJS();
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(path, {
      sharedStrings: 'cache', hyperlinks: 'ignore', styles: 'ignore', worksheets: 'emit', entries: 'ignore',
    });
    for await (const sheet of reader) {
      for await (const row of sheet as AsyncIterable<Row>) {
        options.signal?.throwIfAborted();
        // row.values is 1-based and sparse: [ , A1, B1, ...]
        const values = row.values as unknown[];
        if (!header) {
          const names = Array.from({ length: Math.max(0, values.length - 1) }, (_, i) => cellText(values[i + 1]));
          while (names.length > 0 && names[names.length - 1] === null) names.pop();
          if (names.length === 0) continue;
          header = mangle(names.map((n, i) => (n === null || n === '' ? `Unnamed: ${i}` : n)));
          lastRow = row.number;
          continue;
        }
        for (let gap = lastRow + 1; gap < row.number; gap++) rows.push(header.map(() => null));
        lastRow = row.number;
        rows.push(header.map((_, i) => cellText(values[i + 1])));
      }
      break; // pandas reads the first sheet
    }
  } catch (err) {
    if (err instanceof SmolVLMError) throw err;
    if (err instanceof Error && err.name === 'AbortError') throw err;
    throw invalid(`${path}: not a readable .xlsx workbook: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!header) throw invalid(`${path}: the workbook's first sheet is empty (a header row is expected)`);
  return { path, table: new Table(header, rows) };
}
