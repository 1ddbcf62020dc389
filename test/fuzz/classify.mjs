// The outcome of one case, from how its child process ended and what it reported.
//
// crash     a signal, or a non-zero exit (also after reporting: e.g. an unhandled rejection)
// hang      the case timed out, its process did not exit after reporting (a leaked handle),
//           or Node ended it with exit code 13: a top-level await that never settled
// untyped   rejected with something that is not a SmolVLMError, or with ERR_INTERNAL
// reached   a local server the case started saw a connection it should not have (SSRF)
// wrong     contradicts what the generator knows: resolved where it must reject, rejected
//           where it must resolve, a code outside the expected ones, or the case's own check
// typed     rejected with a SmolVLMError whose code is not ERR_INTERNAL
// success   resolved
// skipped   the environment cannot run the case (e.g. no IPv6 loopback)

/** In order of severity: a case gets the first that applies. */
export const OUTCOMES = ['crash', 'hang', 'untyped', 'reached', 'wrong', 'typed', 'success', 'skipped'];
/** What `npm run fuzz` exits non-zero for; `--strict` adds these too. */
export const FAILURES = ['crash', 'hang', 'untyped'];
export const STRICT_FAILURES = [...FAILURES, 'reached', 'wrong'];

/** Node's exit code for "unsettled top-level await" (the event loop emptied while awaiting). */
const UNSETTLED_TLA = 13;

/** The first line of stderr that names what went wrong natively (ggml assert, abort, C++ exception). */
export function nativeReason(stderr) {
  const lines = stderr.split('\n');
  const patterns = [/GGML_ASSERT\(.*\) failed/, /GGML_ABORT|: fatal error/, /terminate called/, /what\(\):/, /Assertion .* failed/,
    /FATAL ERROR:|Fatal error|Segmentation fault/, /double free|corrupted|munmap_chunk|free\(\)/];
  for (const re of patterns) {
    const hit = lines.find((l) => re.test(l));
    if (hit) return hit.trim().replace(/^.*?(\/deps\/llama\.cpp\/|llama\.cpp\/)/, 'llama.cpp/').slice(0, 300);
  }
  return undefined;
}

/** The JS error line of an uncaught exception or unhandled rejection in stderr. */
function jsReason(stderr) {
  const line = stderr.split('\n').find((l) => /^(\w*Error|\[?\w+Error\]?|Uncaught|node:internal)/.test(l.trim()) && !/^\s*at /.test(l));
  return line?.trim().slice(0, 300);
}

/**
 * @param {{ code: number|null, signal: string|null, timedOut: boolean, exitTimedOut: boolean,
 *   markers: object[], stderr: string }} run
 * @returns {{ outcome: string, phase: string, reason: string, detail: object }}
 */
export function classify(run) {
  const info = run.markers.find((m) => m.t === 'case');
  const done = run.markers.find((m) => m.t === 'done');
  const phases = run.markers.filter((m) => m.t === 'phase');
  const phase = done ? ((run.signal || run.code || run.exitTimedOut) && !done.extra?.selfKilled ? 'exit' : done.lastPhase) : phases.at(-1)?.phase ?? (info ? 'start' : 'generate-case');
  const extra = done?.extra ?? {};
  const detail = { exitCode: run.code, signal: run.signal, error: done?.error, extra: done?.extra, ms: done?.ms, maxRssMB: done?.maxRssMB };
  const native = nativeReason(run.stderr);

  const selfKilled = done?.extra?.selfKilled && run.signal === 'SIGKILL';
  if (run.signal && !run.timedOut && !run.exitTimedOut && !selfKilled) {
    return { outcome: 'crash', phase, reason: `${run.signal}${native ? `: ${native}` : ''}`, detail };
  }
  if (run.timedOut) return { outcome: 'hang', phase, reason: 'timed out', detail };
  if (run.exitTimedOut) return { outcome: 'hang', phase: 'exit', reason: 'did not exit after the case settled (a handle or thread kept it alive)', detail };
  if (!done && run.code === UNSETTLED_TLA) return { outcome: 'hang', phase, reason: 'a promise never settled (unsettled top-level await)', detail };
  if (run.code !== 0 && !selfKilled) {
    const why = native ?? jsReason(run.stderr) ?? 'no message';
    return { outcome: 'crash', phase, reason: `exit ${run.code}${done ? ' after reporting' : ''}: ${why}`, detail };
  }
  if (!done) return { outcome: 'crash', phase, reason: 'exited 0 without reporting (process.exit in the library?)', detail };

  if (extra.skipped) return { outcome: 'skipped', phase, reason: String(extra.skipped), detail };
  const err = done.error;
  const untyped = done.settled === 'reject' && (!err?.smolvlm || err.code === 'ERR_INTERNAL');
  if (untyped) {
    const what = err?.smolvlm ? `ERR_INTERNAL: ${err.message}` : `${err?.name ?? 'non-error'}${err?.code ? ` (${err.code})` : ''}: ${err?.message}`;
    return { outcome: 'untyped', phase, reason: what.slice(0, 300), detail };
  }
  if (extra.reached) return { outcome: 'reached', phase, reason: String(extra.reached), detail };

  const expect = info?.expect ?? 'any';
  if (extra.wrong) return { outcome: 'wrong', phase, reason: String(extra.wrong), detail };
  if (done.settled === 'resolve') {
    if (expect === 'reject') return { outcome: 'wrong', phase, reason: 'resolved, should have been rejected', detail };
    return { outcome: 'success', phase, reason: 'resolved', detail };
  }
  if (expect === 'resolve') return { outcome: 'wrong', phase, reason: `rejected (${err.code}: ${err.message}), should have resolved`, detail };
  const codes = info?.codes;
  const loadOnly = info?.codesAt;
  if (codes && !codes.includes(err.code) && (!loadOnly || loadOnly === phase)) {
    return { outcome: 'wrong', phase, reason: `${err.code}, expected ${codes.join(' or ')}: ${err.message}`.slice(0, 300), detail };
  }
  return { outcome: 'typed', phase, reason: err.code, detail };
}
