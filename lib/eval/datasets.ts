/**
 * The benchmarks `evaluate` knows by name, as VLMEvalKit defines them: where the TSV is
 * (`DATASET_URL`) and its checksum (`DATASET_MD5`, from `vlmeval/dataset/image_mcq.py`,
 * `image_vqa.py`, `image_yorn.py`), which `build_prompt` the dataset class uses, which prompt
 * SmolVLM's `generate_inner` picks for the name (`vlmeval/vlm/smolvlm.py`), and how `evaluate`
 * scores it. Plus local files, typed the way VLMEvalKit's `build_dataset` types custom TSVs, and
 * the download of a known dataset into the data folder (through the hub's transfer code).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DownloadError, invalid } from '../errors.js';
import { sizeOf } from '../fs.js';
import { plainContext } from '../hub/context.js';
import { Progress } from '../hub/progress.js';
import { fetchBlob, type Download } from '../hub/transfer.js';
import type { HubOptions } from '../types.js';
import type { Table } from './table.js';

/**
 * How the dataset class builds the message before the model's prompt builder sees it:
 * `base` = `ImageBaseDataset.build_prompt` (images, then the question); `mcq` = `ImageMCQDataset`
 * (hint, question, options A..); `mmmu` = MCQ then `split_MMMU` (images where `<image k>` is
 * referenced); `vqa` = base + "\nAnswer the question using a single word or phrase.".
 */
export type DatasetPrompt = 'base' | 'mcq' | 'mmmu' | 'vqa';

/** The SmolVLM prompt builder `generate_inner` picks (see prompts.ts). */
export type SmolPrompt = 'mmbench' | 'mmmu' | 'mathvista' | 'chartqa' | 'docvqa' | 'textvqa' | 'brief' | 'yesno' | 'puremcq' | 'default';

/** How the predictions are scored (see score/). */
export type Metric =
  | { kind: 'mcq'; circular: boolean; mmmu: boolean }
  | { kind: 'vqa'; method: 'vqa_score' | 'relaxed_accuracy' | 'accuracy' | 'anls' | 'exact' }
  | { kind: 'yorn'; rating: 'MME' | 'Hallusion' | 'POPE' | 'default' }
  | { kind: 'mathvista' };

export interface DatasetSpec {
  name: string;
  /** VLMEvalKit's DATASET_URL (known datasets only). */
  url?: string;
  /** VLMEvalKit's DATASET_MD5 (known datasets only). */
  md5?: string;
  datasetPrompt: DatasetPrompt;
  smolPrompt: SmolPrompt;
  metric: Metric;
  /** What is written after `<model>_<dataset>` for the score file, e.g. `_acc.csv`. */
  scoreFile: string;
  /** Set where the scoring differs from VLMEvalKit's default run (no GPT judge, or a custom set). */
  note?: string;
}

const OC = 'https://opencompass.openxlab.space/utils';

type Entry = [url: string, md5: string, datasetPrompt: DatasetPrompt, smolPrompt: SmolPrompt, metric: Metric, scoreFile?: string, note?: string];

const mcq = (circular = false, mmmu = false): Metric => ({ kind: 'mcq', circular, mmmu });
const vqa = (method: 'vqa_score' | 'relaxed_accuracy' | 'accuracy' | 'anls'): Metric => ({ kind: 'vqa', method });
const yorn = (rating: 'MME' | 'Hallusion' | 'POPE'): Metric => ({ kind: 'yorn', rating });
const NO_JUDGE = 'needs a GPT judge in VLMEvalKit; scored here with its exact-matching prefetch only (answers the judge would extract count as wrong)';

const KNOWN: Record<string, Entry> = {
  MMBench_DEV_EN: [`${OC}/benchmarks/MMBench/MMBench_DEV_EN.tsv`, 'b6caf1133a01c6bb705cf753bb527ed8', 'mcq', 'mmbench', mcq(true)],
  MMBench_DEV_EN_V11: [`${OC}/benchmarks/MMBench/MMBench_DEV_EN_V11.tsv`, '30c05be8f2f347a50be25aa067248184', 'mcq', 'mmbench', mcq(true)],
  MMBench_DEV_CN: [`${OC}/benchmarks/MMBench/MMBench_DEV_CN.tsv`, '08b8fc3324a5ed74155350f57be69fbd', 'mcq', 'mmbench', mcq(true)],
  CCBench: [`${OC}/VLMEval/CCBench.tsv`, 'f5dde47f24dc5a6fb6e595b409b466ac', 'mcq', 'mmbench', mcq(true)],
  MMMU_DEV_VAL: [`${OC}/VLMEval/MMMU_DEV_VAL.tsv`, '585e8ad75e73f75dcad265dfd0417d64', 'mmmu', 'mmmu', mcq(false, true)],
  MMStar: [`${OC}/VLMEval/MMStar.tsv`, 'e1ecd2140806c1b1bbf54b43372efb9e', 'mcq', 'puremcq', mcq()],
  AI2D_TEST: [`${OC}/VLMEval/AI2D_TEST.tsv`, '0f593e0d1c7df9a3d69bf1f947e71975', 'mcq', 'puremcq', mcq()],
  ScienceQA_VAL: [`${OC}/benchmarks/ScienceQA/ScienceQA_VAL.tsv`, '96320d05e142e585e7204e72affd29f3', 'mcq', 'puremcq', mcq()],
  ScienceQA_TEST: [`${OC}/benchmarks/ScienceQA/ScienceQA_TEST.tsv`, 'e42e9e00f9c59a80d8a5db35bc32b71f', 'mcq', 'puremcq', mcq()],
  SEEDBench_IMG: [`${OC}/benchmarks/SEEDBench/SEEDBench_IMG.tsv`, '68017231464752261a2526d6ca3a10c0', 'mcq', 'puremcq', mcq()],
  TextVQA_VAL: [`${OC}/VLMEval/TextVQA_VAL.tsv`, 'b233b31f551bbf4056f2f955da3a92cd', 'vqa', 'textvqa', vqa('vqa_score')],
  DocVQA_VAL: [`${OC}/VLMEval/DocVQA_VAL.tsv`, 'd5ee77e1926ff10690d469c56b73eabf', 'vqa', 'docvqa', vqa('anls')],
  InfoVQA_VAL: [`${OC}/VLMEval/InfoVQA_VAL.tsv`, '2342e9c225222f0ef4dec545ebb126fe', 'vqa', 'brief', vqa('anls')],
  ChartQA_TEST: [`${OC}/VLMEval/ChartQA_TEST.tsv`, 'c902e0aa9be5582a7aad6dcf52734b42', 'vqa', 'chartqa', vqa('relaxed_accuracy')],
  OCRVQA_TEST: [`${OC}/VLMEval/OCRVQA_TEST.tsv`, 'ca46a6d74b403e9d6c0b670f6fc00db9', 'vqa', 'brief', vqa('accuracy')],
  OCRVQA_TESTCORE: [`${OC}/VLMEval/OCRVQA_TESTCORE.tsv`, 'c5239fe77db8bdc1f2ad8e55e0d1fe97', 'vqa', 'brief', vqa('accuracy')],
  HallusionBench: [`${OC}/VLMEval/HallusionBench.tsv`, '0c23ac0dc9ef46832d7a24504f2a0c7c', 'base', 'yesno', yorn('Hallusion'), '_score.csv'],
  MME: [`${OC}/VLMEval/MME.tsv`, 'b36b43c3f09801f5d368627fb92187c3', 'base', 'brief', yorn('MME'), '_score.csv'],
  POPE: [`${OC}/VLMEval/POPE.tsv`, 'c12f5acb142f2ef1f85a26ba2fbe41d5', 'base', 'default', yorn('POPE'), '_score.csv'],
  MathVista_MINI: [`${OC}/VLMEval/MathVista_MINI.tsv`, 'f199b98e178e5a2a20e7048f5dcb0464', 'base', 'mathvista', { kind: 'mathvista' }, '_exact_matching_score.csv', NO_JUDGE],
};

/** The dataset names `evaluate` downloads and scores. */
export const KNOWN_DATASETS: readonly string[] = Object.freeze(Object.keys(KNOWN));

/** The spec of a known dataset name (exact, VLMEvalKit's spelling), or undefined. */
export function knownDataset(name: string): DatasetSpec | undefined {
  const e = KNOWN[name];
  if (!e) return undefined;
  const [url, md5, datasetPrompt, smolPrompt, metric, scoreFile = '_acc.csv', note] = e;
  return { name, url, md5, datasetPrompt, smolPrompt, metric, scoreFile, ...(note ? { note } : {}) };
}

/**
 * A local TSV under a name VLMEvalKit does not know, typed as its `build_dataset` types it:
 * columns A and B make a custom MCQ set (the MCQ prompt, SmolVLM's default builder, MCQ scoring).
 * Otherwise VLMEvalKit would infer but not score it (CustomVQADataset); here answers that are all
 * Yes/No are scored as a Y/N set and the rest by normalised exact match, both labelled.
 */
export function customDataset(name: string, table: Table): DatasetSpec {
  const circular = ['mmbench', 'ccbench', 'circular', 'mmcr'].some((s) => name.toLowerCase().includes(s));
  if (table.has('A') && table.has('B')) {
    return { name, datasetPrompt: 'mcq', smolPrompt: 'default', metric: mcq(circular), scoreFile: '_acc.csv' };
  }
  const answers = table.has('answer') ? table.rows.map((_, i) => table.raw(i, 'answer')) : [];
  if (answers.length > 0 && answers.every((a) => a === 'Yes' || a === 'No')) {
    return {
      name, datasetPrompt: 'base', smolPrompt: 'default', metric: { kind: 'yorn', rating: 'default' }, scoreFile: '_score.csv',
      note: "custom Y/N set: VLMEvalKit's default Y/N rating (it does not score custom sets)",
    };
  }
  return {
    name, datasetPrompt: 'base', smolPrompt: 'default', metric: { kind: 'vqa', method: 'exact' }, scoreFile: '_acc.csv',
    note: "custom VQA set: normalised exact match, VLMEvalKit's fallback VQA method (it does not score custom sets)",
  };
}

/** Where downloaded datasets live: `$LMUData` (VLMEvalKit's own folder) or ~/.cache/smolvlm-node/datasets. */
export function datasetCacheDir(): string {
  return process.env.LMUData || join(homedir(), '.cache', 'smolvlm-node', 'datasets');
}

/**
 * What a download of a dataset may be given: the signal, progress callback (`file` is the TSV's
 * name), per-request timeout and offline switch of {@link HubOptions} (its endpoint, token and
 * cache folder are the hub's and are not used).
 */
export type DatasetDownloadOptions = Pick<HubOptions, 'signal' | 'onProgress' | 'timeoutMs' | 'offline'>;

/** Downloads `url` to `dest`, checking its MD5; implementations must never leave `dest` half-written. */
export type DownloadFn = (url: string, md5: string, dest: string, options: DatasetDownloadOptions) => Promise<void>;

/** MD5 of a file (streamed in 1 MiB chunks). */
export async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), hash);
  return hash.digest('hex');
}

/** Files found without the checksum, by `path` -> `size:mtime:md5` (so a waiter does not hash them again). */
const mismatched = new Map<string, string>();

async function stampOf(path: string, md5: string): Promise<string | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? `${st.size}:${st.mtimeMs}:${md5}` : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `path` is there with the checksum; remembered beside the file (`.verified`) by size and mtime. */
async function verified(path: string, md5: string): Promise<boolean> {
  const stamp = await stampOf(path, md5);
  if (!stamp) return false;
  const side = `${path}.verified`;
  if ((await readFile(side, 'utf8').catch(() => '')) === stamp) return true;
  if (mismatched.get(path) === stamp) return false;
  if ((await md5File(path)) !== md5) {
    mismatched.set(path, stamp);
    return false;
  }
  await writeFile(side, stamp).catch(() => {});
  return true;
}

/**
 * Downloads a dataset into `dest` through the hub's transfer code (lib/hub/transfer.ts): under
 * the lock `{dest}.lock` (a second process waits for the first, then uses its file), into
 * `{dest}.incomplete`, resumed with a Range request after an interruption, checked against
 * VLMEvalKit's MD5 and only then renamed into place, replacing an outdated file atomically.
 * No token is sent. Progress goes to `options.onProgress` as `{ file: '<name>.tsv', ... }`.
 * @throws DownloadError (`ERR_DOWNLOAD_FAILED` naming the URL, `ERR_CHECKSUM_MISMATCH` naming both
 *   checksums, nothing left at `dest`; `ERR_OFFLINE` when offline and the file is missing), AbortError
 */
export async function fetchDataset(url: string, md5: string, dest: string, options: DatasetDownloadOptions = {}): Promise<void> {
  const ctx = plainContext(options ?? {}, dirname(dest));
  const name = basename(dest);
  const download: Download = { path: name, digest: md5, algorithm: 'md5', label: "VLMEvalKit's MD5", present: (p) => verified(p, md5) };
  const progress = new Progress(ctx.onProgress, name, 0);
  if (!(await verified(dest, md5))) {
    if (ctx.offline) {
      throw new DownloadError('ERR_OFFLINE', `${name} is not in the data folder (${dirname(dest)}) and offline mode is on (HF_HUB_OFFLINE=1 or offline: true); download it while online, or give the path of a .tsv file`);
    }
    await fetchBlob(ctx, undefined, url, download, dest, progress);
    // checked by the transfer (or by whoever held the lock): remembered without hashing it again
    const stamp = await stampOf(dest, md5);
    if (stamp) await writeFile(`${dest}.verified`, stamp).catch(() => {});
  }
  progress.setTotal((await sizeOf(dest)) ?? 0);
  progress.done();
}

/**
 * The TSV for `data` (a known name or a path) and its spec. A known name is looked up in
 * `dataDir` as `<name>.tsv` (VLMEvalKit's own file name) and downloaded when missing or when its
 * MD5 differs. The spec of a custom file needs its table: it is returned as `custom: true`.
 */
export async function locateDataset(
  data: string,
  options: { name?: string; dataDir?: string; download?: DownloadFn; hub?: DatasetDownloadOptions; signal?: AbortSignal } = {},
): Promise<{ path: string; name: string; spec?: DatasetSpec }> {
  if (typeof data !== 'string' || data.length === 0) throw invalid('data must be a dataset name or the path of a .tsv file');
  const isPath = data.endsWith('.tsv') || data.includes('/') || data.includes('\\') || (!knownDataset(data) && existsSync(data));
  if (isPath) {
    if (!existsSync(data)) throw invalid(`${data}: no such file`);
    const name = options.name ?? basename(data).replace(/\.tsv$/, '');
    return { path: data, name, spec: knownDataset(name) };
  }
  const spec = knownDataset(data);
  if (!spec) {
    throw invalid(`unknown dataset '${data}': known names are ${KNOWN_DATASETS.join(', ')}; or give the path of a VLMEvalKit .tsv file`);
  }
  const dest = join(options.dataDir ?? datasetCacheDir(), `${spec.name}.tsv`);
  if (await verified(dest, spec.md5!)) return { path: dest, name: spec.name, spec };
  await mkdir(dirname(dest), { recursive: true });
  const signal = options.signal ?? options.hub?.signal;
  await (options.download ?? fetchDataset)(spec.url!, spec.md5!, dest, { ...options.hub, ...(signal ? { signal } : {}) });
  if (!(await verified(dest, spec.md5!))) {
    await rm(dest, { force: true });
    throw new DownloadError('ERR_CHECKSUM_MISMATCH', `${dest}: the downloaded file does not have VLMEvalKit's MD5 ${spec.md5}`);
  }
  return { path: dest, name: spec.name, spec };
}
