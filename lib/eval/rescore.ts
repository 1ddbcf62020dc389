/**
 * `score`: scores an existing predictions file (one `evaluate` wrote, or VLMEvalKit's own:
 * `<model>_<dataset>.xlsx` as it writes by default, or `.tsv` with PRED_FORMAT=tsv) without
 * running a model, so our numbers can be checked against theirs.
 */
import { basename, dirname, join } from 'node:path';
import { invalid } from '../errors.js';
import { customDataset, KNOWN_DATASETS, knownDataset, type DatasetDownloadOptions, type DatasetSpec, type DownloadFn } from './datasets.js';
import { openDataset } from './evaluate.js';
import { scoreCsv, scoreTable, type Scores } from './score/index.js';
import { readTsv } from './tsv.js';
import { isXlsx, readXlsx } from './xlsx.js';
import { writeAtomic } from '../fs.js';

export interface ScoreOptions {
  /** The predictions file, .tsv or .xlsx (columns `index`, `prediction`, and the dataset's). */
  predictions: string;
  /**
   * The dataset (a known name or a .tsv path). MCQ answers are taken from it as VLMEvalKit does;
   * without it they come from the predictions file. Default: the name in the file's
   * `<model>_<dataset>.tsv`, used for the metric only.
   */
  data?: string;
  /** The dataset's name when `data` is a path or absent and the file name does not tell. */
  datasetName?: string;
  dataDir?: string;
  download?: DownloadFn;
  /** How a known dataset is downloaded (progress, timeout, offline). */
  hub?: DatasetDownloadOptions;
  /** Also write the score table beside the predictions (`..._acc.csv` / `_score.csv`). Default false. */
  write?: boolean;
  signal?: AbortSignal;
}

export interface ScoreResult {
  dataset: string;
  scores: Scores;
  /** The score file, when `write`. */
  file?: string;
}

/** A predictions file's name without its extension. */
function stemOf(path: string): string {
  return basename(path).replace(/\.(tsv|xlsx)$/i, '');
}

/** The known dataset a `<model>_<dataset>.tsv` (or `.xlsx`) file name ends with (the longest match). */
function nameFromFile(path: string): string | undefined {
  const b = stemOf(path);
  return [...KNOWN_DATASETS].sort((x, y) => y.length - x.length).find((n) => b === n || b.endsWith(`_${n}`));
}

/** Re-scores a predictions file. */
export async function score(opts: ScoreOptions): Promise<ScoreResult> {
  if (!opts || typeof opts.predictions !== 'string') throw invalid('score: options.predictions (a .tsv or .xlsx path) is required');
  const preds = isXlsx(opts.predictions) ? await readXlsx(opts.predictions, { signal: opts.signal }) : await readTsv(opts.predictions, { signal: opts.signal });
  let spec: DatasetSpec | undefined;
  let meta;
  if (opts.data) {
    const ds = await openDataset(opts.data, opts);
    spec = ds.spec;
    meta = ds.file.table;
  } else {
    const name = opts.datasetName ?? nameFromFile(opts.predictions);
    if (!name) throw invalid(`score: cannot tell the dataset of ${opts.predictions}: give data or datasetName`);
    spec = knownDataset(name) ?? customDataset(name, preds.table);
  }
  const scores = scoreTable(spec, preds.table, meta);
  let file: string | undefined;
  if (opts.write) {
    file = join(dirname(opts.predictions), stemOf(opts.predictions) + spec.scoreFile);
    await writeAtomic(file, scoreCsv(scores.table));
  }
  return { dataset: spec.name, scores, ...(file ? { file } : {}) };
}
