// Runs cases, each in a child process of its own with a timeout, and classifies them.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classify } from './classify.mjs';
import { parseMarkers } from './protocol.mjs';

const CHILD = fileURLToPath(new URL('./child.mjs', import.meta.url));
/** How long a child may take to exit once its case settled (disposal, server shutdown). */
const EXIT_GRACE_MS = 10_000;
const STDERR_KEEP = 16 * 1024;
/**
 * Each child's data-segment limit (RLIMIT_DATA, through util-linux's prlimit where it exists):
 * a case that would allocate tens of GB on a shared machine fails its allocation instead. V8's
 * and WebAssembly's address-space reservations are not data, so Node runs normally under it.
 * Thread stacks are data too: the soft stack limit (the default pthread stack size) goes down to
 * 2 MiB so that a case starting a thousand threads measures the threads, not the cap.
 */
export const DEFAULT_MEMORY_CAP_MB = 8192;
const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p));

/** `<class>:<seed>:<index>`, the id `--case` takes. */
export const caseId = (cls, seed, index) => `${cls}:${seed}:${index}`;

/**
 * Runs one case.
 * @param {{ cls: string, seed: number, index: number, timeoutMs: number, fixtures: object,
 *   keep?: string, backtrace?: boolean, echo?: boolean, memoryCapMB?: number, exitGraceMs?: number }}
 *   options `echo` copies the child's output to ours as it comes (for `--case`); `memoryCapMB`
 *   0 = no cap; `exitGraceMs`: how long the child may take to exit after reporting
 */
export function runCase({ cls, seed, index, timeoutMs, fixtures, keep, backtrace = false, echo = false, memoryCapMB = DEFAULT_MEMORY_CAP_MB, exitGraceMs = EXIT_GRACE_MS }) {
  const tmp = mkdtempSync(join(tmpdir(), 'smolvlm-fuzz-'));
  const context = { fixtures, tmp, keep: keep ? join(keep, caseId(cls, seed, index).replaceAll(':', '-')) : undefined };
  const env = {
    ...process.env,
    SMOLVLM_FUZZ_CONTEXT: JSON.stringify(context),
    // ggml prints an assert's message either way; its backtrace attaches gdb (seconds per crash).
    ...(backtrace ? {} : { GGML_NO_BACKTRACE: '1' }),
  };
  const started = performance.now();
  return new Promise((resolve) => {
    const args = [CHILD, cls, String(seed), String(index)];
    // prlimit execs node in its own process: signals and exit codes are the child's own
    const [cmd, argv] = PRLIMIT && memoryCapMB > 0
      ? [PRLIMIT, [`--data=${memoryCapMB * 1024 * 1024}`, `--stack=${2 * 1024 * 1024}:`, process.execPath, ...args]]
      : [process.execPath, args];
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let exitTimedOut = false;
    let deadline;
    let extended = false;
    const arm = (ms, onFire) => {
      clearTimeout(deadline);
      deadline = setTimeout(onFire, ms);
    };
    const kill = () => child.kill('SIGKILL');
    arm(timeoutMs, () => ((timedOut = true), kill()));
    child.stdout.setEncoding('utf8').on('data', (s) => {
      stdout += s;
      if (echo) process.stdout.write(s.replace(/\u0001smolvlm-fuzz /g, '# '));
      const { markers } = parseMarkers(stdout);
      const info = markers.find((m) => m.t === 'case');
      if (markers.some((m) => m.t === 'done')) {
        arm(exitGraceMs, () => ((exitTimedOut = true), kill()));
      } else if (info?.timeoutMs > timeoutMs && !extended) {
        extended = true; // a costly case (a huge image) states how long it may take
        arm(info.timeoutMs - (performance.now() - started), () => ((timedOut = true), kill()));
      }
    });
    child.stderr.setEncoding('utf8').on('data', (s) => {
      if (echo) process.stderr.write(s);
      stderr = (stderr + s).slice(-STDERR_KEEP);
    });
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      if (!keep) rmSync(tmp, { recursive: true, force: true });
      const { markers, other } = parseMarkers(stdout);
      const info = markers.find((m) => m.t === 'case') ?? {};
      const verdict = classify({ code, signal, timedOut, exitTimedOut, markers, stderr });
      resolve({
        id: caseId(cls, seed, index),
        cls,
        seed,
        index,
        name: info.name ?? '(not generated)',
        kind: info.kind ?? info.name ?? '(not generated)',
        expect: info.expect,
        ...verdict,
        wallMs: Math.round(performance.now() - started),
        stderrTail: stderr.split('\n').filter(Boolean).slice(-12).join('\n'),
        stdoutTail: other.slice(-5).join('\n'),
      });
    });
  });
}

/**
 * Runs `cases` ([{cls, seed, index}]) with at most `jobs` children at a time; `onResult` sees each
 * result as it comes. Resolves with the results in case order.
 */
export async function runCases(cases, { jobs = 1, onResult, ...options }) {
  const results = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      results[i] = await runCase({ ...options, ...cases[i] });
      onResult?.(results[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, cases.length)) }, worker));
  return results;
}
