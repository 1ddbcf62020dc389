/**
 * Names: a repository reference `org/name[:quant]`, the commit and object ids the hub hands out,
 * and the cache folder a repository lives in (`models--{org}--{name}`, huggingface_hub's naming).
 */
import { invalid } from '../errors.js';

const REPO_RE = /^[A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)*\/[A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)*$/;
const QUANT_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** A git commit id. */
export const HEX40 = /^[0-9a-f]{40}$/i;
/** A blob name: an LFS sha256 (64 hex) or the git blob oid (sha1, 40 hex) of a non-LFS file. */
export const OID_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;

/** `org/name`, each part letters, digits and `_` joined by single `.` or `-`, at most 256 characters. */
export function isValidRepo(repo: string): boolean {
  return repo.length <= 256 && REPO_RE.test(repo);
}

/** `org/name[:quant]` -> its parts; undefined when it is not one. */
export function parseRepoRef(ref: string): { repo: string; quant?: string } | undefined {
  if (typeof ref !== 'string') return undefined;
  const parts = ref.trim().split(':');
  if (parts.length > 2) return undefined;
  const [repo, quant] = parts;
  if (!isValidRepo(repo)) return undefined;
  if (quant === undefined) return { repo };
  if (!QUANT_RE.test(quant)) return undefined;
  return { repo, quant };
}

/**
 * `pullModel`'s `(repo, quant)` arguments -> repository and quant; the quant may come with the
 * reference or separately, not both differently.
 * @throws InvalidArgumentError
 */
export function repoArgs(repoRef: string, quant: string | undefined): { repo: string; quant?: string } {
  const parsed = typeof repoRef === 'string' ? parseRepoRef(repoRef) : undefined;
  if (!parsed) throw invalid(`not a hub repository: '${String(repoRef)}' (expected 'org/name' or 'org/name:quant')`);
  if (quant !== undefined && quant !== null) {
    if (typeof quant !== 'string' || !QUANT_RE.test(quant)) throw invalid(`not a quantization: '${String(quant)}'`);
    if (parsed.quant && parsed.quant.toLowerCase() !== quant.toLowerCase()) {
      throw invalid(`two quantizations asked for: '${repoRef}' and '${quant}'`);
    }
    return { repo: parsed.repo, quant };
  }
  return parsed;
}

/** `org/name` -> its folder in the cache, `models--org--name`. */
export function repoFolder(repo: string): string {
  return 'models--' + repo.replaceAll('/', '--');
}

/** A cache folder's name -> its repository; undefined for anything else. */
export function folderRepo(folder: string): string | undefined {
  if (!folder.startsWith('models--')) return undefined;
  const repo = folder.slice('models--'.length).replaceAll('--', '/');
  return isValidRepo(repo) ? repo : undefined;
}
