/**
 * Options objects read once, as plain copies checked against the keys they may have: an unknown
 * key is an InvalidArgumentError naming the nearest known one (a small edit distance), and a
 * getter that throws is one too. The key lists themselves are options.ts's KNOWN_KEYS.
 */
import { invalid } from './errors.js';

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions): 'lroa' -> 'lora' is 1. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known key nearest to `key` (case ignored), when it is close enough to be a typo. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) (best = k), (bestD = d);
  }
  return bestD <= 2 && bestD * 2 < key.length ? best : undefined;
}

/**
 * A plain copy of an options object's own enumerable properties, checked against the keys it may
 * have: an unknown key is an InvalidArgumentError naming the nearest known one, a getter that
 * throws is one too (never an internal error later). `where` names the object in messages.
 */
export function checkedObject<T extends object>(obj: T, known: readonly string[], where: string): T {
  if (obj === null || typeof obj !== 'object') throw invalid(`${where} must be an object`);
  const out: Record<string, unknown> = {};
  let keys: string[];
  try {
    keys = Object.keys(obj);
  } catch (err) {
    throw invalid(`${where} cannot be read: ${(err as Error)?.message ?? String(err)}`);
  }
  for (const key of keys) {
    if (!known.includes(key)) {
      const near = nearestKey(key, known);
      throw invalid(`${where}: unknown option '${key}'${near ? ` (did you mean '${near}'?)` : ''}`);
    }
    try {
      const value = (obj as Record<string, unknown>)[key];
      // an own "__proto__" (JSON.parse makes one) stays a plain property: assigned, it would set
      // the copy's prototype, and its fields would be read as the object's own
      if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      else out[key] = value;
    } catch (err) {
      throw invalid(`${where}.${key} cannot be read: ${(err as Error)?.message ?? String(err)}`);
    }
  }
  return out as T;
}
