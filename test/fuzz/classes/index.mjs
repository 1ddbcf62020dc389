// The case classes. Each module exports `generate({ rng, seed, index, k })`, which returns a case:
// { name, kind?, expect?: 'any'|'reject'|'resolve', codes?: string[], codesAt?: phase,
//   timeoutMs?: number, run: async (k) => void } (k: kit.mjs). A case notes facts with k.note().

export const CLASSES = ['gguf', 'meta'];

export function loadClass(cls) {
  return import(`./${cls}.mjs`);
}
