/**
 * LoRA adapters on the JS side: the checks of `loadModel({ lora })` and of a request's `lora`, the
 * load mapping (absolute paths, unique ids) and a request's selection resolved to the native set
 * (indexes into `info.lora`, ascending, no zero scale). Loading and applying them is native
 * (native/lora.cc); grouping requests by set is the scheduler's (docs/architecture.md).
 */
import { basename, resolve } from 'node:path';
import type { NativeGenerateParams, NativeLoadOptions } from './binding.js';
import { invalid } from './errors.js';
import type { LoraInfo, LoraOptions, LoraSelection } from './types.js';

/** The scale an adapter loads with when none is given (llama.cpp's `--lora`). */
export const LORA_DEFAULT_SCALE = 1;
/** Scales outside this range are refused (llama.cpp takes any float; these would only break output). */
const SCALE_LIMIT = 100;

function checkScale(name: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > SCALE_LIMIT) {
    throw invalid(`${name} must be a number in [-${SCALE_LIMIT}, ${SCALE_LIMIT}]`);
  }
}

/** The id an adapter gets when none is given: its file name without `.gguf`. */
function defaultId(path: string): string {
  return basename(path).replace(/\.gguf$/i, '');
}

/** Checks `loadModel({ lora })` and maps it onto the native load options (paths made absolute). */
export function nativeLoraOptions(lora: unknown): NativeLoadOptions['lora'] {
  if (lora === undefined) return [];
  if (!Array.isArray(lora)) throw invalid('lora must be an array of { path, scale?, id? }');
  const out: NativeLoadOptions['lora'] = [];
  lora.forEach((entry: LoraOptions, i) => {
    if (!entry || typeof entry !== 'object') throw invalid(`lora[${i}] must be an object { path, scale?, id? }`);
    if (typeof entry.path !== 'string' || entry.path.length === 0) throw invalid(`lora[${i}].path must be a path to a .gguf adapter`);
    checkScale(`lora[${i}].scale`, entry.scale);
    if (entry.id !== undefined && (typeof entry.id !== 'string' || entry.id.length === 0)) throw invalid(`lora[${i}].id must be a non-empty string`);
    const path = resolve(entry.path);
    const id = entry.id ?? defaultId(path);
    if (out.some((o) => o.path === path)) throw invalid(`lora[${i}]: ${path} is given twice`);
    if (out.some((o) => o.id === id)) throw invalid(`lora[${i}]: the id '${id}' is taken by another adapter (give each an id)`);
    out.push({ path, id, scale: entry.scale ?? LORA_DEFAULT_SCALE });
  });
  return out;
}

/** Checks the shape of a request's `lora` (before anything is prepared). */
export function validateLoraSelection(lora: unknown): void {
  if (lora === undefined) return;
  if (!Array.isArray(lora)) throw invalid('lora must be an array of { id | path, scale? }');
  lora.forEach((s: LoraSelection, i) => {
    if (!s || typeof s !== 'object') throw invalid(`lora[${i}] must be an object { id | path, scale? }`);
    if ((s.id === undefined) === (s.path === undefined)) throw invalid(`lora[${i}] needs one of id or path`);
    if (s.id !== undefined && typeof s.id !== 'string') throw invalid(`lora[${i}].id must be a string`);
    if (s.path !== undefined && typeof s.path !== 'string') throw invalid(`lora[${i}].path must be a string`);
    checkScale(`lora[${i}].scale`, s.scale);
  });
}

/**
 * A request's adapters as native code takes them: its own selection, else every loaded adapter at
 * its load scale. Throws InvalidArgumentError for an adapter the model was not loaded with.
 */
export function nativeLoraSet(selection: LoraSelection[] | undefined, loaded: readonly LoraInfo[]): NativeGenerateParams['lora'] {
  const picked = new Map<number, number>();
  if (selection === undefined) {
    loaded.forEach((a, index) => picked.set(index, a.scale));
  } else {
    selection.forEach((s, i) => {
      const path = s.path === undefined ? undefined : resolve(s.path);
      const index = loaded.findIndex((a) => (path !== undefined ? a.path === path : a.id === s.id));
      if (index < 0) {
        const names = loaded.length ? loaded.map((a) => `'${a.id}'`).join(', ') : 'none';
        throw invalid(`lora[${i}]: no adapter ${path !== undefined ? path : `'${s.id}'`} was loaded with the model (loaded: ${names}); adapters are loaded by loadModel({ lora })`);
      }
      if (picked.has(index)) throw invalid(`lora[${i}]: adapter '${loaded[index].id}' is picked twice`);
      picked.set(index, s.scale ?? loaded[index].scale);
    });
  }
  return [...picked].filter(([, scale]) => scale !== 0).sort(([a], [b]) => a - b).map(([index, scale]) => ({ index, scale }));
}
