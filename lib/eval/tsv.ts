/**
 * VLMEvalKit's TSV files: reading a dataset (streamed, so a multi-gigabyte file never sits in
 * memory: each row's base64 image stays in the file and is read back when the row runs), resolving
 * its images as `ImageBaseDataset` does, and writing predictions and score tables the way
 * VLMEvalKit's `dump` writes them (`to_csv(sep='\t', quoting=csv.QUOTE_ALL)`), atomically.
 */
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { parse, type Options as ParseOptions } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { ImageError, invalid, SmolVLMError } from '../errors.js';
import { pyLiteral, pyStr } from './pylike.js';
import { isNA, Table } from './table.js';

/** How pandas' C parser reads VLMEvalKit's files: tab-separated, `"` quotes, blank lines skipped. */
const PARSE: ParseOptions = {
  delimiter: '\t',
  record_delimiter: ['\r\n', '\n', '\r'],
  quote: '"',
  relax_quotes: true,
  relax_column_count: true,
  skip_empty_lines: true,
  bom: true,
};

/** A cell of the image column that is a base64 image (or a list of them) left in the file. */
const IN_FILE = '\u0000in-file';

/** A dataset file: its table (images left in the file), and where each row's record lies. */
export interface TsvFile {
  path: string;
  table: Table;
  /** Byte range [start, end) of each row's record in the file. */
  ranges: { start: number; end: number }[];
}

function rowName(table: Table, row: number): string {
  const index = table.has('index') ? table.raw(row, 'index') : null;
  return `row ${row + 1}${index !== null ? ` (index ${index})` : ''}`;
}

/** A file-level error that names the file and, where known, the row and column. */
export function tsvError(path: string, where: string, message: string) {
  return invalid(`${path}: ${where}: ${message}`);
}

const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** `toliststr` of an image cell: a Python list literal of strings, or the string itself. */
export function imageList(cell: string): string[] | undefined {
  if (cell.length > 1 && cell[0] === '[' && cell[cell.length - 1] === ']') {
    const v = pyLiteral(cell);
    if (!Array.isArray(v)) return undefined;
    return v.map((x) => pyStr(x));
  }
  return [cell];
}

function checkBase64(list: string[] | undefined): string | undefined {
  if (!list || list.length === 0) return 'not base64 nor a list of base64 images';
  for (const [i, b] of list.entries()) {
    if (b.length === 0 || b.length % 4 !== 0 || !B64_RE.test(b)) {
      return list.length > 1 ? `image ${i + 1} of the list is not valid base64` : 'not valid base64';
    }
  }
  return undefined;
}

/** Column names as pandas makes them unique (`a`, `a.1`, `a.2`). */
export function mangle(header: string[]): string[] {
  const seen = new Map<string, number>();
  return header.map((h) => {
    const n = seen.get(h);
    seen.set(h, (n ?? 0) + 1);
    return n === undefined ? h : `${h}.${n}`;
  });
}

/**
 * Reads a VLMEvalKit TSV. The `image` column's base64 images are checked (base64 syntax, Python
 * list syntax for several images) but not kept: {@link rowImages} reads them back.
 * @throws InvalidArgumentError naming the file, row and column
 */
export async function readTsv(path: string, options: { signal?: AbortSignal } = {}): Promise<TsvFile> {
  let header: string[] | undefined;
  let imageAt = -1;
  const rows: (string | null)[][] = [];
  const ranges: { start: number; end: number }[] = [];
  let last = 0;
  const source = createReadStream(path, { signal: options.signal });
  const parser = parse({ ...PARSE, info: true });
  // pipe() does not pass the file's errors on (a missing file would be an unhandled 'error')
  source.once('error', (err) => parser.destroy(err));
  source.pipe(parser);
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { bytes: number; lines: number } }>) {
      const start = last;
      last = info.bytes;
      if (!header) {
        header = mangle(record);
        imageAt = header.indexOf('image');
        continue;
      }
      if (record.length > header.length) {
        throw tsvError(path, `line ${info.lines}`, `expected ${header.length} fields, saw ${record.length}`);
      }
      const cells: (string | null)[] = header.map((_, i) => (i < record.length ? record[i] : null));
      if (imageAt >= 0) {
        const cell = cells[imageAt];
        if (cell !== null && cell.length > 64) {
          const bad = checkBase64(imageList(cell));
          if (bad) throw tsvError(path, `row ${rows.length + 1} (line ${info.lines}), column image`, bad);
          cells[imageAt] = IN_FILE;
        }
      }
      rows.push(cells);
      ranges.push({ start, end: info.bytes });
    }
  } catch (err) {
    if (err instanceof SmolVLMError) throw err;
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') throw invalid(`${path}: no such file`);
    if (err instanceof Error && err.name === 'AbortError') throw err;
    throw invalid(`${path}: not a readable TSV file: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!header) throw invalid(`${path}: the file is empty (a TSV with a header row is expected)`);
  return { path, table: new Table(header, rows), ranges };
}

/** Fails unless every column is present. */
export function requireColumns(file: { path: string; table: Table }, columns: string[], why: string): void {
  const missing = columns.filter((c) => !file.table.has(c));
  if (missing.length > 0) {
    throw invalid(`${file.path}: missing column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c}'`).join(', ')} (${why})`);
  }
}

/**
 * Where each row's images come from, as `ImageBaseDataset.__init__` resolves them: a cell of at
 * most 64 characters names the row (by index) whose image it shares.
 * @returns for each row, the row holding its image cell (itself unless it is a reference)
 */
export function resolveImageRows(file: TsvFile, rows: number[]): Map<number, number> {
  const { table, path } = file;
  const byIndex = new Map<string, number>();
  for (const r of rows) byIndex.set(table.str(r, 'index'), r);
  const out = new Map<number, number>();
  for (const r of rows) {
    const cell = table.raw(r, 'image') ?? '';
    if (cell === IN_FILE) {
      out.set(r, r);
      continue;
    }
    const target = byIndex.get(cell);
    if (target === undefined || table.raw(target, 'image') !== IN_FILE) {
      throw tsvError(path, `${rowName(table, r)}, column image`, `'${cell}' is neither base64 nor the index of a row holding an image`);
    }
    out.set(r, target);
  }
  return out;
}

/** The image cell of a row, read back from the file. */
async function imageCell(file: TsvFile, row: number): Promise<string> {
  const { start, end } = file.ranges[row];
  const fh = await open(file.path, 'r');
  let buf: Buffer;
  try {
    buf = Buffer.alloc(end - start);
    await fh.read(buf, 0, buf.length, start);
  } finally {
    await fh.close();
  }
  const records = parseSync(buf, PARSE) as string[][];
  const at = file.table.columns.indexOf('image');
  const cell = records[0]?.[at];
  if (records.length !== 1 || cell === undefined) throw tsvError(file.path, rowName(file.table, row), 'the file changed while it was read');
  return cell;
}

/**
 * The encoded images of a row: base64 from the `image` column (following references), or files
 * named by `image_path` (absolute, or relative to `imageRoot`, default the TSV's folder).
 */
export async function rowImages(file: TsvFile, row: number, source: number, imageRoot?: string): Promise<Buffer[]> {
  const { table } = file;
  if (table.has('image') && !isNA(table.raw(row, 'image'))) {
    const list = imageList(await imageCell(file, source))!;
    return list.map((b) => Buffer.from(b, 'base64'));
  }
  const cell = table.raw(row, 'image_path');
  if (cell === null || isNA(cell)) throw new ImageError('ERR_IMAGE_INVALID', `${file.path}: ${rowName(table, row)}: no image (neither 'image' nor 'image_path')`);
  const paths = imageList(cell);
  if (!paths) throw tsvError(file.path, `${rowName(table, row)}, column image_path`, 'not a path nor a list of paths');
  const root = imageRoot ?? dirname(file.path);
  return Promise.all(
    paths.map(async (p) => {
      const full = isAbsolute(p) ? p : join(root, p);
      try {
        return await readFile(full);
      } catch (err) {
        throw new ImageError('ERR_IMAGE_INVALID', `${file.path}: ${rowName(table, row)}, column image_path: cannot read ${full}`, { cause: err });
      }
    }),
  );
}

/** The number of images a row has (without reading them). */
export function rowImageCount(file: TsvFile, row: number, source: number): Promise<number> | number {
  const { table } = file;
  if (table.has('image') && !isNA(table.raw(row, 'image'))) return imageCell(file, source).then((c) => imageList(c)!.length);
  return imageList(table.raw(row, 'image_path') ?? '')?.length ?? 0;
}

/** A table as VLMEvalKit's `dump` writes it: every field quoted, empty where NaN. */
export function tableText(columns: readonly string[], rows: readonly (readonly (string | null)[])[], delimiter: '\t' | ','): string {
  return stringify([columns as string[], ...rows.map((r) => r.map((c) => c ?? ''))], {
    delimiter,
    quoted: true,
    quoted_empty: true,
    record_delimiter: '\n',
  });
}

