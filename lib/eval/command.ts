/**
 * The `smolvlm eval` command's body, for the CLI to call with its parsed flags: one model load,
 * each dataset run by {@link evaluate} under a progress bar (rows/s, ETA), then its score table;
 * or, with `score`, an existing predictions file re-scored. Ctrl-C stops after the rows in flight
 * (what was answered is kept for the next run).
 */
import cliProgress from 'cli-progress';
import type { Writable } from 'node:stream';
import { invalid } from '../errors.js';
import { DEFAULTS } from '../options.js';
import type { DownloadProgress, LoadModelOptions } from '../types.js';
import type { DatasetDownloadOptions } from './datasets.js';
import { EVAL_DEFAULTS, evaluate, type EvaluateResult } from './evaluate.js';
import { score, type ScoreResult } from './rescore.js';
import type { Scores } from './score/index.js';

export interface EvalFlags {
  /** Dataset names or .tsv paths. */
  data: string[];
  model?: string;
  mmproj?: string;
  modelName?: string;
  workDir?: string;
  limit?: number;
  parallel?: number;
  maxTokens?: number;
  longestEdge?: number;
  /** false = --no-tiling. */
  tiling?: boolean;
  contextSize?: number;
  threads?: number;
  skipErrors?: boolean;
  /** Re-score this predictions file instead of running a model. */
  score?: string;
  /** Further load options (GPU, memory limit, hub settings...); `model`, `mmproj` and `parallel` come from the flags. */
  load?: Omit<LoadModelOptions, 'model' | 'mmproj' | 'parallel'>;
  /**
   * Download progress bars (the CLI's): one set is made for the model's download and one for each
   * dataset's, each stopped before the rows' bar starts. Default: none.
   */
  downloadBars?: () => { onProgress?: (p: DownloadProgress) => void; stop(): void };
}

/** `make()`'s bars, stopped at most once. */
function bars(make: EvalFlags['downloadBars']): { onProgress?: (p: DownloadProgress) => void; stop(): void } {
  const b = make?.();
  let stopped = !b;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    b!.stop();
  };
  return { ...(b?.onProgress ? { onProgress: b.onProgress } : {}), stop };
}

/** A score table as text, numbers to 2 decimals (MCQ fractions as percentages). */
export function formatScores(dataset: string, scores: Scores): string {
  const { columns, rows } = scores.table;
  const fractions = rows.every((r) => r.every((v) => typeof v !== 'number' || (v >= 0 && v <= 1))) && columns[0] === 'split' && columns[1] === 'Overall';
  const cell = (v: string | number | null) => (v === null ? '-' : typeof v === 'number' ? (Number.isNaN(v) ? '-' : (fractions ? v * 100 : v).toFixed(2)) : v);
  const text = [columns, ...rows.map((r) => r.map(cell))];
  const width = columns.map((_, i) => Math.max(...text.map((r) => String(r[i]).length)));
  const line = (r: (string | number)[]) => r.map((v, i) => String(v).padEnd(width[i])).join('  ').trimEnd();
  const out = [`${dataset}${scores.overall !== undefined ? `: ${scores.overall.toFixed(2)} (${scores.overallLabel})` : ''}`, line(text[0]), ...text.slice(1).map(line)];
  if (scores.note) out.push(`note: ${scores.note}`);
  return `${out.join('\n')}\n`;
}

/** A dataset download's settings: the model's hub options (offline, timeout) with the dataset's bars. */
function datasetHub(flags: EvalFlags, dl: { onProgress?: (p: DownloadProgress) => void }): DatasetDownloadOptions {
  const hub = flags.load?.hub;
  return {
    ...(hub?.offline !== undefined ? { offline: hub.offline } : {}),
    ...(hub?.timeoutMs !== undefined ? { timeoutMs: hub.timeoutMs } : {}),
    ...(dl.onProgress ? { onProgress: dl.onProgress } : hub?.onProgress ? { onProgress: hub.onProgress } : {}),
  };
}

/** Runs the command. Resolves with each dataset's result. */
export async function evalCommand(
  flags: EvalFlags,
  io: { stdout: Writable; stderr: Writable } = { stdout: process.stdout, stderr: process.stderr },
): Promise<(EvaluateResult | ScoreResult)[]> {
  if (!flags.data?.length && !flags.score) throw invalid('eval: give --data NAME|file.tsv (one or more)');
  if (flags.score) {
    if ((flags.data?.length ?? 0) > 1) throw invalid('eval --score: give at most one --data');
    const dl = bars(flags.downloadBars);
    const res = await score({ predictions: flags.score, data: flags.data?.[0], write: true, hub: datasetHub(flags, dl) }).finally(dl.stop);
    io.stdout.write(formatScores(res.dataset, res.scores));
    return [res];
  }
  if (!flags.model) throw invalid('eval: --model is required');
  const parallel = flags.parallel ?? EVAL_DEFAULTS.parallel;
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  const { loadModel } = await import('../load.js');
  const modelBars = bars(flags.downloadBars);
  const vlm = await loadModel({
    ...flags.load,
    model: flags.model, mmproj: flags.mmproj, parallel, contextSize: flags.contextSize ?? flags.load?.contextSize ?? DEFAULTS.contextSize * parallel,
    ...(flags.threads ? { threads: flags.threads } : {}), signal: ac.signal,
    ...(modelBars.onProgress ? { hub: { ...flags.load?.hub, onProgress: modelBars.onProgress } } : {}),
  }).finally(modelBars.stop);
  const results: EvaluateResult[] = [];
  try {
    for (const data of flags.data) {
      const bar = new cliProgress.SingleBar(
        { format: ' {dataset} |{bar}| {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}', hideCursor: true, stream: io.stderr, etaBuffer: 50 },
        cliProgress.Presets.shades_classic,
      );
      const start = performance.now();
      const dl = bars(flags.downloadBars);
      const res = await evaluate({
        vlm, data, parallel, modelName: flags.modelName ?? flags.model, workDir: flags.workDir, limit: flags.limit, maxTokens: flags.maxTokens,
        image: { ...(flags.longestEdge !== undefined ? { longestEdge: flags.longestEdge } : {}), ...(flags.tiling === false ? { tiling: false } : {}) },
        skipErrors: flags.skipErrors, signal: ac.signal, hub: datasetHub(flags, dl),
        onStart: ({ dataset, pending }) => {
          dl.stop();
          bar.start(pending, 0, { dataset, rate: '0.00' });
        },
        onRow: ({ done }) => bar.update(done, { rate: (done / ((performance.now() - start) / 1000)).toFixed(2) }),
      }).finally(() => {
        dl.stop();
        bar.stop();
      });
      io.stdout.write(formatScores(res.dataset, res.scores));
      io.stdout.write(`  ${res.files.predictions}\n  ${res.files.scores}\n`);
      results.push(res);
    }
  } finally {
    process.off('SIGINT', onSigint);
    await vlm.dispose();
  }
  return results;
}
