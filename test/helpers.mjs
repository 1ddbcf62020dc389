// Shared test helpers: fixtures, the llama-mtmd-cli reference, event-loop measurement.
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { backendInfo, loadModel } from '../dist/index.js';
import { ensureTestImages } from './fixtures/images.mjs';
import { ensureFixture } from './fixtures/synth.mjs';

export const root = resolve(fileURLToPath(import.meta.url), '..', '..');
export const slow = process.env.SMOLVLM_SLOW_TESTS === '1';
export const THREADS = 2;

export { ensureFixture, ensureTestImages };

/** Loads the tiny fixture with test defaults. */
export async function loadTiny(options = {}) {
  const { model, mmproj } = await ensureFixture({ size: 'tiny' });
  return loadModel({ model, mmproj, threads: THREADS, contextSize: 4096, ...options });
}

export function userMessage(image, text) {
  const content = [];
  if (image) content.push({ type: 'image', image });
  if (text) content.push({ type: 'text', text });
  return [{ role: 'user', content }];
}

const execFileP = promisify(execFile);
let refDir;

/**
 * llama-mtmd-cli from the same build, in a folder of its own holding only the CPU variant our
 * addon chose (ggml would otherwise pick by CPUID alone, see native/backends.cc), so both run the
 * very same kernels.
 */
export function referenceCli() {
  if (refDir) return join(refDir, 'llama-mtmd-cli');
  const rel = backendInfo().dir; // the build the addon under test came from (SMOLVLM_BINARY or build/Release)
  const cli = join(rel, 'llama-mtmd-cli');
  if (!existsSync(cli)) {
    throw new Error(`${cli} is missing: build it with SMOLVLM_BUILD_REFERENCE=1 npm run build:native (the README's test command does)`);
  }
  const variant = backendInfo().loaded.find((f) => f.includes('ggml-cpu'));
  refDir = mkdtempSync(join(tmpdir(), 'smolvlm-ref-'));
  copyFileSync(cli, join(refDir, 'llama-mtmd-cli'));
  for (const f of readdirSync(rel)) {
    if (/^libggml-cpu/.test(f) && f !== variant) continue;
    if (/\.(so|dylib)$/.test(f)) symlinkSync(join(rel, f), join(refDir, f));
  }
  process.on('exit', () => rmSync(refDir, { recursive: true, force: true }));
  return join(refDir, 'llama-mtmd-cli');
}

/**
 * llama.cpp's rpc-server (ggml-rpc-server) from the same build, beside llama-mtmd-cli in its folder
 * (the same single CPU variant, so the remote device runs the kernels the addon runs locally).
 */
export function referenceRpcServer() {
  const dir = dirname(referenceCli());
  const server = join(dir, 'ggml-rpc-server');
  if (!existsSync(server)) {
    const built = join(backendInfo().dir, 'ggml-rpc-server');
    if (!existsSync(built)) throw new Error(`${built} is missing: build it with SMOLVLM_BUILD_REFERENCE=1 npm run build:native`);
    copyFileSync(built, server);
    chmodSync(server, 0o755);
  }
  return server;
}

/**
 * Greedy answer of llama-mtmd-cli for one image (or `images`, each with its marker before the
 * prompt) and one prompt (stdout bytes, trimmed of its framing). `args`: more flags (e.g.
 * `['--lora', path]`).
 */
export async function referenceAnswer({ model, mmproj, image, images, prompt, maxTokens, contextSize = 4096, args = [] }) {
  const cli = referenceCli();
  const imageArgs = (images ?? [image]).flatMap((i) => ['--image', i]);
  const { stdout } = await execFileP(
    cli,
    ['-m', model, '--mmproj', mmproj, ...imageArgs, '-p', prompt, '--temp', '0', '-n', String(maxTokens),
      '-t', String(THREADS), '-c', String(contextSize), ...args],
    { encoding: 'buffer', maxBuffer: 64 << 20 },
  );
  // stdout is "\n" (prompt evaluated) + the pieces + ("\n" at an end-of-generation token) + "\n\n".
  const s = stdout.toString('utf8');
  if (!s.startsWith('\n') || !s.endsWith('\n\n')) throw new Error(`unexpected llama-mtmd-cli output: ${JSON.stringify(s)}`);
  return s.slice(1, -2);
}

/** Runs `fn` while sampling the event loop; returns [result, max delay in ms]. */
export async function withLoopDelay(fn) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  try {
    const result = await fn();
    return [result, h.max / 1e6];
  } finally {
    h.disable();
  }
}

export function tempDir() {
  const d = mkdtempSync(join(tmpdir(), 'smolvlm-test-'));
  process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  mkdirSync(d, { recursive: true });
  return d;
}
