#!/usr/bin/env node
// Fills the git-ignored deps/llama.cpp/ with llama.cpp at the pinned commit (deps/llama.cpp.json).
// Sources, in order: SMOLVLM_LLAMA_CPP_DIR (an existing git checkout), git (GitHub), then the
// npm registry (node-llama-cpp's tarball ships a git bundle of exactly that commit).
// Idempotent: a checkout already at the pin is left alone; downloads are cached.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, renameSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pin = JSON.parse(readFileSync(join(here, 'llama.cpp.json'), 'utf8'));
const target = join(here, 'llama.cpp');
const cacheDir = process.env.SMOLVLM_CACHE_DIR
  ? join(process.env.SMOLVLM_CACHE_DIR, 'deps')
  : join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'smolvlm-node', 'deps');
const quiet = process.argv.includes('--quiet');
const log = (msg) => { if (!quiet) console.error(`[provision] ${msg}`); };

function git(args, opts = {}) {
  return execFileSync('git', args, {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_HTTP_LOW_SPEED_LIMIT: '1000', GIT_HTTP_LOW_SPEED_TIME: '30' },
    ...opts,
  }).trim();
}

function headOf(dir) {
  try { return git(['-C', dir, 'rev-parse', 'HEAD']); } catch { return null; }
}

function fail(msg) {
  console.error(`[provision] error: ${msg}`);
  process.exit(1);
}

/** Clones `source` (URL, path or bundle) into a temp dir, checks out the pin, then moves it in place. */
function cloneAt(source, label) {
  const tmp = `${target}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    log(`cloning from ${label}`);
    git(['clone', '--quiet', '--no-checkout', source, tmp], { timeout: 15 * 60_000 });
    git(['-C', tmp, 'checkout', '--quiet', '--detach', pin.commit]);
    const head = headOf(tmp);
    if (head !== pin.commit) throw new Error(`checked out ${head}, expected ${pin.commit}`);
    rmSync(target, { recursive: true, force: true });
    renameSync(tmp, target);
    log(`deps/llama.cpp is at ${pin.commit} (from ${label})`);
    return true;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    log(`${label} failed: ${(err.stderr || err.message || String(err)).toString().trim().split('\n').pop()}`);
    return false;
  }
}

function fromNpm() {
  const { package: spec, bundle } = pin.npmFallback;
  mkdirSync(cacheDir, { recursive: true });
  const bundlePath = join(cacheDir, `${spec.replace(/[^\w.@-]/g, '_')}.bundle`);
  if (!existsSync(bundlePath)) {
    log(`downloading ${spec} from the npm registry`);
    const work = join(cacheDir, `pack-${process.pid}`);
    mkdirSync(work, { recursive: true });
    try {
      execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', work], { stdio: ['ignore', 'pipe', 'inherit'] });
      const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
      if (!tgz) throw new Error('npm pack produced no tarball');
      execFileSync('tar', ['-xzf', join(work, tgz), '-C', work, bundle]);
      renameSync(join(work, bundle), bundlePath);
    } catch (err) {
      rmSync(work, { recursive: true, force: true });
      log(`npm registry failed: ${err.message}`);
      return false;
    }
    rmSync(work, { recursive: true, force: true });
  }
  return cloneAt(bundlePath, `npm:${spec}`);
}

if (headOf(target) === pin.commit) {
  log(`deps/llama.cpp already at ${pin.commit}`);
  process.exit(0);
}
if (existsSync(target) && !existsSync(join(target, '.git'))) {
  fail(`${target} exists but is not a git checkout; remove it and run again`);
}

const local = process.env.SMOLVLM_LLAMA_CPP_DIR;
if (local) {
  if (cloneAt(resolve(local), `SMOLVLM_LLAMA_CPP_DIR=${local}`)) process.exit(0);
  fail(`SMOLVLM_LLAMA_CPP_DIR=${local} is not a git checkout containing commit ${pin.commit}`);
}
if (process.env.SMOLVLM_LLAMA_CPP_SOURCE !== 'npm' && cloneAt(pin.repository, pin.repository)) process.exit(0);
if (fromNpm()) process.exit(0);
fail(`could not obtain llama.cpp ${pin.commit}. Set SMOLVLM_LLAMA_CPP_DIR to a llama.cpp git checkout that contains it.`);
