/**
 * Which files `repo[:quant]` means, as llama.cpp's `-hf` chooses them (common/download.cpp:
 * find_best_model, find_best_sibling): the model .gguf for the quant (all its parts when split)
 * and the projector (mmproj*.gguf) beside it with the closest quantization. Pure: it looks at a
 * listing of the repository (from the hub, or from a cached snapshot) and touches nothing.
 */
import { DownloadError } from '../errors.js';

/** A file of a repository: an entry of the hub's tree listing, or of a cached snapshot. */
export interface RepoFile {
  path: string;
  size: number;
  /** lfs.oid (sha256, 64 hex) or the git blob oid (sha1, 40 hex) of a non-LFS file. */
  oid?: string;
  lfs?: boolean;
  /** Cached snapshots only: the snapshot entry, or undefined when it is a broken link. */
  localPath?: string;
  missing?: boolean;
}

/** A .gguf name's parts: `{prefix}[-{index}-of-{count}].gguf`, `tag` the quant at the prefix's end. */
export interface SplitInfo {
  prefix: string;
  /** The quantization named last in the prefix (upper case), '' when there is none. */
  tag: string;
  /** 1-based part number; 1 for a file that is not split, 0 for a file that is not a .gguf. */
  index: number;
  count: number;
}

/** The files a request means: the model's first part, all its parts, and the projector. */
export interface Selection {
  primary: RepoFile;
  parts: RepoFile[];
  mmproj?: RepoFile;
}

/** Tried in order when no quant is asked for, as llama.cpp's find_best_model; then the first model. */
const DEFAULT_QUANTS = ['Q4_K_M', 'Q8_0'];

export function splitInfo(path: string): SplitInfo {
  if (!path.endsWith('.gguf')) return { prefix: '', tag: '', index: 0, count: 0 };
  let prefix = path.slice(0, -'.gguf'.length);
  let index = 1;
  let count = 1;
  const split = /^(.+)-([0-9]{5})-of-([0-9]{5})$/i.exec(prefix);
  if (split) {
    prefix = split[1];
    index = Number(split[2]);
    count = Number(split[3]);
  }
  const tag = /[-.]([A-Z0-9_]+)$/i.exec(prefix)?.[1].toUpperCase() ?? '';
  return { prefix, tag, index, count };
}

/** Q4_0 -> 4, F16 -> 16, Q8_K_M -> 8; 0 when the tag has no number. */
export function quantBits(tag: string): number {
  const m = /[0-9]+/.exec(tag);
  return m ? Number(m[0]) : 0;
}

/** A language model's .gguf: not a projector, imatrix, or draft/speculative model. */
export function isModelGguf(path: string): boolean {
  if (!path.endsWith('.gguf')) return false;
  const name = path.slice(path.lastIndexOf('/') + 1);
  return !['mmproj', 'imatrix', 'mtp-', 'eagle3-', 'dflash-', 'dspark-'].some((k) => name.includes(k));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The first model .gguf (the first part of a split one) whose path has `quant` followed by `.` or
 * `-`, case-insensitive; with no quant, Q4_K_M, then Q8_0, then the first model at all.
 */
export function findBestModel(files: RepoFile[], quant: string | undefined): RepoFile | undefined {
  const firstPart = (f: RepoFile) => {
    const s = splitInfo(f.path);
    return isModelGguf(f.path) && !(s.count > 1 && s.index !== 1);
  };
  for (const tag of quant ? [quant] : DEFAULT_QUANTS) {
    const pattern = new RegExp(escapeRegExp(tag) + '[.-]', 'i');
    const hit = files.find((f) => firstPart(f) && pattern.test(f.path));
    if (hit) return hit;
  }
  return quant ? undefined : files.find(firstPart);
}

/** All parts of a split model in order (just the file when it is not split). */
export function splitParts(files: RepoFile[], primary: RepoFile): RepoFile[] {
  const s = splitInfo(primary.path);
  if (s.count <= 1) return [primary];
  return files
    .filter((f) => {
      const o = splitInfo(f.path);
      return o.count === s.count && o.prefix === s.prefix;
    })
    .sort((a, b) => splitInfo(a.path).index - splitInfo(b.path).index);
}

/**
 * The .gguf whose name contains `keyword` that sits in the model's directory or above (deepest
 * first), with the quantization closest to the model's.
 */
export function findBestSibling(files: RepoFile[], model: string, keyword: string): RepoFile | undefined {
  const modelBits = quantBits(splitInfo(model).tag);
  const modelDirs = model.split('/').slice(0, -1);
  let best: RepoFile | undefined;
  let bestDepth = -1;
  let bestDiff = 0;
  for (const f of files) {
    if (!f.path.endsWith('.gguf') || !f.path.includes(keyword)) continue;
    const dirs = f.path.split('/').slice(0, -1);
    if (dirs.length > modelDirs.length || dirs.some((d, i) => d !== modelDirs[i])) continue;
    const diff = Math.abs(quantBits(splitInfo(f.path).tag) - modelBits);
    if (!best || dirs.length > bestDepth || (dirs.length === bestDepth && diff < bestDiff)) {
      best = f;
      bestDepth = dirs.length;
      bestDiff = diff;
    }
  }
  return best;
}

/** The files `quant` (or the default) selects; undefined when no model file matches. */
export function selectFiles(files: RepoFile[], quant: string | undefined): Selection | undefined {
  const primary = findBestModel(files, quant);
  if (!primary) return undefined;
  return { primary, parts: splitParts(files, primary), mmproj: findBestSibling(files, primary.path, 'mmproj') };
}

/** Every file a selection needs on disk: the model's parts, then the projector. */
export function selectedFiles(s: Selection): RepoFile[] {
  return [...s.parts, ...(s.mmproj ? [s.mmproj] : [])];
}

/**
 * The files `quant` selects in a repository's listing.
 * @throws DownloadError ERR_MODEL_NOT_FOUND naming the quant and the GGUF files there are.
 */
export function requireFiles(files: RepoFile[], repo: string, quant: string | undefined): Selection {
  const s = selectFiles(files, quant);
  if (s) return s;
  const names = files.filter((f) => f.path.endsWith('.gguf')).map((f) => f.path);
  const listed = names.length ? names.join(', ') : 'none';
  throw new DownloadError('ERR_MODEL_NOT_FOUND', quant
    ? `no model file for quantization '${quant}' in ${repo}; its GGUF files: ${listed}`
    : `no GGUF model file in ${repo}; its GGUF files: ${listed}`);
}

/** What a request for `quant` looks for, in words (for errors). */
export function describeWanted(quant: string | undefined): string {
  return `a model .gguf matching ${quant ?? DEFAULT_QUANTS.join(' or ')} and its projector (mmproj*.gguf)`;
}
