// What every fuzz case gets in its child process: the library, the fixtures, a scratch folder,
// phase markers, notes for the report, and the usual load / ask steps with cheap settings.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as lib from '../../dist/index.js';
import { mark } from './protocol.mjs';

/** Codes a corrupt model or projector file may be refused with (ModelLoadError and subclasses). */
export const MODEL_CODES = ['ERR_MODEL_INVALID', 'ERR_PROJECTOR_MISMATCH', 'ERR_NOT_GGUF', 'ERR_MODEL_UNREADABLE'];
/** Codes a caller mistake may be refused with. */
export const CALLER_CODES = ['ERR_INVALID_ARGUMENT', 'ERR_IMAGE_INVALID'];

/** Cheap settings: one thread (the machine is shared; a case is about behaviour, not speed). */
export const LOAD_DEFAULTS = { threads: 1, contextSize: 512, gpu: false };

/**
 * @param {{ fixtures: {model: string, mmproj: string}, tmp: string, keep?: string }} context
 *   from the parent (SMOLVLM_FUZZ_CONTEXT)
 */
export function kit(context) {
  let last = 'generate-case';
  let failedIn;
  const extras = {};
  const cleanups = [];
  const scratch = context.keep || context.tmp;
  if (scratch) mkdirSync(scratch, { recursive: true });
  return {
    lib,
    context,
    fixtures: context.fixtures,
    /** A path in this case's scratch folder (removed by the parent unless --keep). */
    path: (name) => join(scratch, name),
    phase(name) {
      last = name;
      mark({ t: 'phase', phase: name });
    },
    lastPhase: () => last,
    /** The phase an error left first (withModel's dispose runs after it). */
    failedIn: () => failedIn,
    /** Facts for the report: `reached`, `wrong` (why the outcome contradicts the expectation), `skipped`, ... */
    note(obj) {
      Object.assign(extras, obj);
    },
    extras: () => extras,
    /**
     * Ends the case now as resolved (after k.note()): reports, then SIGKILLs this process, for a
     * case that must not let native work run on (a thousand spinning threads on a shared machine).
     */
    finishNow() {
      mark({ t: 'done', settled: 'resolve', extra: { ...extras, selfKilled: true }, lastPhase: last, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) });
      process.kill(process.pid, 'SIGKILL');
    },
    onCleanup(fn) {
      cleanups.push(fn);
    },
    async cleanup() {
      for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch(() => {});
    },
    /** loadModel with the fuzz defaults (the tiny fixture unless `files` says otherwise). */
    async load(options = {}) {
      this.phase('load');
      return lib.loadModel({ ...context.fixtures, ...LOAD_DEFAULTS, ...options });
    },
    /** One short generation about one image. */
    async ask(vlm, image, request = {}) {
      this.phase('generate');
      const content = image === undefined ? 'Say something.' : [{ type: 'image', image }, { type: 'text', text: 'What is this?' }];
      return vlm.generate({ messages: [{ role: 'user', content }], maxTokens: 2, ...request });
    },
    /** Load, `fn(vlm)`, dispose (each a phase). */
    async withModel(options, fn) {
      let vlm;
      try {
        vlm = await this.load(options);
      } catch (err) {
        failedIn ??= last;
        throw err;
      }
      try {
        return await fn(vlm);
      } catch (err) {
        failedIn ??= last;
        throw err;
      } finally {
        this.phase('dispose');
        await vlm.dispose();
      }
    },
    async describeError(err) {
      const e = err && typeof err === 'object' ? err : { message: String(err) };
      return {
        smolvlm: err instanceof lib.SmolVLMError,
        name: e.name ?? typeof err,
        code: typeof e.code === 'string' ? e.code : undefined,
        message: String(e.message ?? '').slice(0, 600),
        stack: typeof e.stack === 'string' ? e.stack.split('\n').slice(1, 5).map((s) => s.trim()) : undefined,
      };
    },
  };
}
