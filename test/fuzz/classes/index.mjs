// The case classes. Each module exports `generate({ rng, seed, index, k })`, which returns a case:
// { name, kind?, expect?: 'any'|'reject'|'resolve', codes?: string[], codesAt?: phase,
//   timeoutMs?: number, run: async (k) => void } (k: kit.mjs). A case notes facts with k.note().

export const CLASSES = ['gguf', 'meta', 'image', 'url', 'api'];
/** Known-outcome cases for the harness's own test (test/model/fuzz.test.mjs), never in a fuzz run. */
export const INTERNAL_CLASSES = ['selftest'];

export function loadClass(cls) {
  return import(`./${cls}.mjs`);
}
