/**
 * `evaluate`: runs a SmolVLM model over a VLMEvalKit benchmark with VLMEvalKit's prompts, greedy,
 * through the engine's parallel slots, and scores it as VLMEvalKit does. Output in VLMEvalKit's
 * layout under `<workDir>/<model>/`: `<model>_<dataset>.tsv` (the dataset's columns but `image`,
 * plus `prediction`), `<model>_<dataset>_acc.csv` (or `_score.csv`), and `summary.json`.
 *
 * Resuming: each answer is appended to `<model>_<dataset>_progress.jsonl` as it arrives; a new
 * run skips rows found there or in an earlier predictions file, so a crash or Ctrl-C loses at
 * most the rows in flight. The final files are written whole and renamed into place.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { AbortError, invalid, SmolVLMError } from '../errors.js';
import type { SmolVLM } from '../model.js';
import type { HubOptions, ImageOptions, LoadModelOptions } from '../types.js';
import { customDataset, locateDataset, type DatasetDownloadOptions, type DatasetSpec, type DownloadFn } from './datasets.js';
import { datasetMessage, promptStyleFor, renderPrompt, SMOL_TEMPLATES } from './prompts.js';
import { pyStrip } from './pylike.js';
import { scoreColumns, scoreCsv, scoreTable, type Scores } from './score/index.js';
import { isNA, Table } from './table.js';
import { readTsv, requireColumns, resolveImageRows, rowImages, tableText, type TsvFile } from './tsv.js';
import { writeAtomic } from '../fs.js';

/**
 * The defaults of {@link evaluate} (and `smolvlm eval`). `maxTokens` is VLMEvalKit's: its SmolVLM
 * and SmolVLM2 wrappers (`vlmeval/vlm/smolvlm.py`, `kwargs_default = {"max_new_tokens": 2048}`)
 * generate up to 2048 new tokens, and `config.py` passes no other value, so the leaderboard's
 * numbers were produced with 2048. A smaller cap would cut the long answers (MMMU, MathVista)
 * before their final letter or number and score them lower than VLMEvalKit does; the answers that
 * end at the end-of-utterance token (nearly all of them) are the same either way.
 */
export const EVAL_DEFAULTS = Object.freeze({ maxTokens: 2048, parallel: 4, workDir: 'outputs', contextPerRow: 4096 });

/** VLMEvalKit's marker of a failed inference (`SKIP_ERR=1`); such rows are run again on resume. */
export const FAIL_MSG = 'Failed to obtain answer';

export interface EvaluateOptions {
  /** A loaded model; it must have `info.parallel >= parallel`. Or give `model` (and `mmproj`). */
  vlm?: SmolVLM;
  /** What `loadModel({ model })` takes: a known name, a hub reference, or a .gguf path. */
  model?: string;
  mmproj?: string;
  /** Further load options when `evaluate` loads the model (it sets `parallel`; `contextSize` defaults to 4096 per slot). */
  load?: Omit<LoadModelOptions, 'model' | 'mmproj'>;
  /** The name of the output folder and files. Default: the model's name. */
  modelName?: string;
  /** A dataset name (see KNOWN_DATASETS) or the path of a VLMEvalKit .tsv file. */
  data: string;
  /** For a .tsv path: the dataset it is (prompts, scoring, file names). Default: the file's name. */
  datasetName?: string;
  /** Where known datasets are kept / downloaded. Default `$LMUData` or ~/.cache/smolvlm-node/datasets. */
  dataDir?: string;
  /** Replaces the built-in download (same contract as {@link fetchDataset}). */
  download?: DownloadFn;
  /**
   * How a known dataset is downloaded: `onProgress` (`file` is `<name>.tsv`), `timeoutMs`,
   * `offline`. Default: those of `load.hub`. The run's `signal` stops the download too.
   */
  hub?: DatasetDownloadOptions;
  /** Output root. Default `./outputs` (VLMEvalKit's). */
  workDir?: string;
  /** Answer only the first `limit` rows (rows an earlier run answered stay in the files and the scores). */
  limit?: number;
  /** Rows generated at once. Default 4. */
  parallel?: number;
  /** Tokens per answer at most. Default 2048, VLMEvalKit's `max_new_tokens` for SmolVLM (see {@link EVAL_DEFAULTS}). */
  maxTokens?: number;
  /** Image resolution options for every image (`longestEdge`, `tiling`). */
  image?: ImageOptions;
  /** Folder that relative `image_path` values are under. Default: the TSV's folder. */
  imageRoot?: string;
  /** Whose prompt builders to use: VLMEvalKit's `SmolVLM` or `SmolVLM2` class. Default from the model name. */
  promptStyle?: 'SmolVLM' | 'SmolVLM2';
  /**
   * Record a row that fails (an image that does not decode, a prompt over the context) as
   * "Failed to obtain answer: ..." and go on, as VLMEvalKit's SKIP_ERR=1. Default false: the run stops
   * with the row's error (what was answered is kept).
   */
  skipErrors?: boolean;
  /** Called once the rows are known. */
  onStart?: (info: { dataset: string; total: number; pending: number }) => void;
  /** Called after each answered row. */
  onRow?: (row: EvalRow) => void;
  /** Stops the run: rows in flight are dropped, what was answered is kept, the promise rejects with an AbortError. */
  signal?: AbortSignal;
}

export interface EvalRow {
  index: string;
  prediction: string;
  /** Rows answered so far in this run. */
  done: number;
  /** Rows this run had to answer. */
  pending: number;
  error?: string;
}

export interface EvaluateResult {
  model: string;
  dataset: string;
  promptStyle: 'SmolVLM' | 'SmolVLM2';
  maxTokens: number;
  /** Rows in the predictions file and the scores. */
  rows: number;
  /** Rows answered by this run; the others came from an earlier run. */
  answered: number;
  reused: number;
  /** Rows recorded as failed (`skipErrors`). */
  failed: number;
  elapsedMs: number;
  rowsPerSecond: number;
  scores: Scores;
  files: { predictions: string; scores: string; summary: string };
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
}

function defaultModelName(opts: EvaluateOptions, vlm: SmolVLM): string {
  if (opts.modelName) return safeName(opts.modelName);
  if (opts.model) return safeName(basename(opts.model).replace(/\.gguf$/i, '').replace(/:/g, '-'));
  return safeName(vlm.info.name || 'model');
}

/** The answers an earlier run left: the predictions file, then the progress journal. */
async function previousAnswers(predFile: string, journal: string): Promise<Map<string, string>> {
  const done = new Map<string, string>();
  if (existsSync(predFile)) {
    const prev = await readTsv(predFile);
    if (prev.table.has('index') && prev.table.has('prediction')) {
      prev.table.rows.forEach((_, r) => done.set(prev.table.str(r, 'index'), prev.table.raw(r, 'prediction') ?? ''));
    }
  }
  if (existsSync(journal)) {
    for (const line of (await readFile(journal, 'utf8')).split('\n')) {
      if (!line) continue;
      try {
        const { index, prediction } = JSON.parse(line) as { index: string; prediction: string };
        if (typeof index === 'string' && typeof prediction === 'string') done.set(index, prediction);
      } catch {
        /* a line cut by a crash: that row runs again */
      }
    }
  }
  for (const [k, v] of done) if (v.includes(FAIL_MSG)) done.delete(k);
  return done;
}

/** The rows VLMEvalKit evaluates: those with an image (`skip_noimg`), the first `limit` of them. */
function selectRows(file: TsvFile, limit?: number): number[] {
  const t = file.table;
  let rows = t.rows.map((_, r) => r);
  if (t.has('image')) rows = rows.filter((r) => !isNA(t.raw(r, 'image')));
  return limit === undefined ? rows : rows.slice(0, limit);
}

/** The parts of the model's hub options a dataset download uses. */
function pickDownload(hub: HubOptions | undefined): DatasetDownloadOptions | undefined {
  if (!hub) return undefined;
  const { onProgress, timeoutMs, offline } = hub;
  return { ...(onProgress ? { onProgress } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(offline !== undefined ? { offline } : {}) };
}

function checkOptions(opts: EvaluateOptions): void {
  if (!opts || typeof opts !== 'object') throw invalid('evaluate: options object expected');
  if (!opts.vlm && !opts.model) throw invalid('evaluate: give `vlm` (a loaded model) or `model`');
  for (const k of ['limit', 'parallel', 'maxTokens'] as const) {
    const v = opts[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw invalid(`evaluate: ${k} must be a positive integer`);
  }
  if (opts.promptStyle !== undefined && opts.promptStyle !== 'SmolVLM' && opts.promptStyle !== 'SmolVLM2') throw invalid("promptStyle must be 'SmolVLM' or 'SmolVLM2'");
}

/** Reads the dataset and its spec, and checks every column the run and its scoring need. */
export async function openDataset(
  data: string,
  opts: { datasetName?: string; dataDir?: string; download?: DownloadFn; hub?: DatasetDownloadOptions; signal?: AbortSignal },
): Promise<{ file: TsvFile; spec: DatasetSpec }> {
  const loc = await locateDataset(data, { name: opts.datasetName, dataDir: opts.dataDir, download: opts.download, hub: opts.hub, signal: opts.signal });
  const file = await readTsv(loc.path, { signal: opts.signal });
  const spec = loc.spec ?? customDataset(loc.name, file.table);
  requireColumns(file, ['index', 'question'], 'every VLMEvalKit dataset has them');
  if (!file.table.has('image') && !file.table.has('image_path')) throw invalid(`${file.path}: needs an 'image' (base64) or 'image_path' column`);
  requireColumns(file, scoreColumns(spec), `${spec.name} is scored with them`);
  const seen = new Set<string>();
  file.table.rows.forEach((_, r) => {
    const i = file.table.str(r, 'index');
    if (seen.has(i)) throw invalid(`${file.path}: row ${r + 1}: index ${i} occurs twice`);
    seen.add(i);
  });
  return { file, spec };
}

/**
 * Runs a model over a benchmark and scores it (see the module comment for the files written).
 * @throws InvalidArgumentError (bad options, unknown dataset, a TSV missing columns or with broken
 *   base64, naming the file and row), DownloadError, AbortError, or a row's error naming the row
 */
export async function evaluate(opts: EvaluateOptions): Promise<EvaluateResult> {
  checkOptions(opts);
  const started = performance.now();
  const hub = opts.hub ?? pickDownload(opts.load?.hub);
  const { file, spec } = await openDataset(opts.data, { ...opts, hub });
  const rows = selectRows(file, opts.limit);
  const imageSource = resolveImageRows(file, selectRows(file));

  let vlm = opts.vlm;
  let owned = false;
  const parallel = opts.parallel ?? (vlm ? Math.min(EVAL_DEFAULTS.parallel, vlm.info.parallel) : EVAL_DEFAULTS.parallel);
  if (vlm && vlm.info.parallel < parallel) {
    throw invalid(`evaluate: parallel ${parallel} needs a model loaded with parallel >= ${parallel} (it has ${vlm.info.parallel})`);
  }
  if (!vlm) {
    const { loadModel } = await import('../load.js');
    vlm = await loadModel({ contextSize: EVAL_DEFAULTS.contextPerRow * parallel, ...opts.load, model: opts.model!, mmproj: opts.mmproj, parallel, signal: opts.signal });
    owned = true;
  }
  try {
    return await run(opts, vlm, file, spec, rows, imageSource, parallel, started);
  } finally {
    if (owned) await vlm.dispose();
  }
}

async function run(
  opts: EvaluateOptions, vlm: SmolVLM, file: TsvFile, spec: DatasetSpec, rows: number[], imageSource: Map<number, number>,
  parallel: number, started: number,
): Promise<EvaluateResult> {
  const t = file.table;
  const model = defaultModelName(opts, vlm);
  const style = opts.promptStyle ?? promptStyleFor(opts.modelName ?? opts.model ?? vlm.info.name ?? '');
  const template = SMOL_TEMPLATES[style][spec.smolPrompt];
  const maxTokens = opts.maxTokens ?? EVAL_DEFAULTS.maxTokens;
  const dir = join(opts.workDir ?? EVAL_DEFAULTS.workDir, model);
  const stem = `${model}_${spec.name}`;
  const files = { predictions: join(dir, `${stem}.tsv`), scores: join(dir, `${stem}${spec.scoreFile}`), summary: join(dir, 'summary.json') };
  const journalPath = join(dir, `${stem}_progress.jsonl`);
  await mkdir(dir, { recursive: true });

  const answers = await previousAnswers(files.predictions, journalPath);
  const indexOf = (r: number) => t.str(r, 'index');
  const pending = rows.filter((r) => !answers.has(indexOf(r)));
  // Rows an earlier run answered stay in the files (a quick `limit` run never drops them).
  const chosen = new Set(rows);
  const scored = selectRows(file).filter((r) => chosen.has(r) || answers.has(indexOf(r)));
  const reused = scored.length - pending.length;
  opts.onStart?.({ dataset: spec.name, total: rows.length, pending: pending.length });

  const journal = await open(journalPath, 'a');
  let writes: Promise<unknown> = Promise.resolve();
  let done = 0;
  let failed = 0;
  let failure: unknown;
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;

  const record = (r: number, prediction: string, error?: string) => {
    answers.set(indexOf(r), prediction);
    const line = `${JSON.stringify({ index: indexOf(r), prediction })}\n`;
    writes = writes.then(() => journal.write(line));
    done++;
    try {
      opts.onRow?.({ index: indexOf(r), prediction, done, pending: pending.length, ...(error ? { error } : {}) });
    } catch {
      /* a throwing callback must not stop the run */
    }
  };

  const answer = async (r: number): Promise<void> => {
    const where = `${file.path}: row ${r + 1} (index ${indexOf(r)})`;
    try {
      const images = await rowImages(file, r, imageSource.get(r)!, opts.imageRoot);
      const message = datasetMessage(spec.datasetPrompt, t.row(r), images.length, where);
      const { prompt, images: order } = renderPrompt(template, message, vlm.info.mediaMarker, where);
      const res = await vlm.generate({
        prompt, images: order.map((i) => images[i]), addSpecial: false, maxTokens, temperature: 0, image: opts.image, signal,
      });
      record(r, pyStrip(res.text));
    } catch (err) {
      if (signal.aborted) return;
      const e = err instanceof Error ? err : new Error(String(err));
      if (opts.skipErrors && !(err instanceof AbortError)) {
        failed++;
        record(r, `${FAIL_MSG}: ${e.name} ${e.message}`, e.message);
        return;
      }
      if (err instanceof SmolVLMError && !err.message.includes(`index ${indexOf(r)}`)) err.message = `${where}: ${err.message}`;
      failure ??= err;
      stop.abort();
    }
  };

  let next = 0;
  const worker = async () => {
    while (!signal.aborted && next < pending.length) await answer(pending[next++]);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(parallel, Math.max(1, pending.length)) }, worker));
  } finally {
    await writes.catch(() => {});
    await journal.close();
  }
  if (failure) throw failure;
  if (opts.signal?.aborted) throw new AbortError('ERR_ABORTED', `evaluation of ${spec.name} aborted; ${done} new answers kept in ${journalPath}`);

  // The predictions file: the dataset's columns but `image`, plus `prediction`.
  const columns = [...t.columns.filter((c) => c !== 'image' && c !== 'prediction'), 'prediction'];
  const at = columns.slice(0, -1).map((c) => t.columns.indexOf(c));
  const predRows = scored.map((r) => [...at.map((i) => t.rows[r][i]), answers.get(indexOf(r)) ?? null]);
  await writeAtomic(files.predictions, tableText(columns, predRows, '\t'));
  const scores = scoreTable(spec, new Table(columns, predRows), t);
  await writeAtomic(files.scores, scoreCsv(scores.table));
  const elapsedMs = performance.now() - started;
  const result: EvaluateResult = {
    model, dataset: spec.name, promptStyle: style, maxTokens, rows: scored.length, answered: done, reused, failed,
    elapsedMs, rowsPerSecond: done / (elapsedMs / 1000), scores, files,
  };
  let summary: Record<string, unknown> = {};
  try {
    summary = JSON.parse(await readFile(files.summary, 'utf8')) as Record<string, unknown>;
  } catch {
    /* none yet, or unreadable: start again */
  }
  summary[spec.name] = { ...result, scores: { overall: scores.overall, overallLabel: scores.overallLabel, metrics: scores.metrics, ...(scores.note ? { note: scores.note } : {}) } };
  await writeAtomic(files.summary, `${JSON.stringify(summary, null, 2)}\n`);
  await rm(journalPath, { force: true });
  return result;
}
