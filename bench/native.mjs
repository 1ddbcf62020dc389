// The native reference: llama.cpp's llama-mtmd-cli built from the pinned source (deps/llama.cpp) the
// way a user builds llama.cpp for their own machine: GGML_NATIVE=ON (-march=native), OpenMP on
// (llama.cpp's defaults), a plain `cmake` build of llama-mtmd-cli. It lives outside the checkout in
// ~/.cache/smolvlm-node/native-ref/<commit> (SMOLVLM_NATIVE_REF_DIR overrides the parent folder),
// compiled through ccache (the project's shared cache unless CCACHE_DIR is set), built once and
// reused. bench/bench.mjs --vs-native compares the prebuilt-style addon (build/Release, every CPU
// variant as a GGML_BACKEND_DL module) with it; `node bench/native.mjs` only builds it and prints
// its path.
//
// The AMX guard: some Intel VMs advertise AMX in CPUID but fault on its instructions, so a
// -march=native build dies of SIGILL there. After building, the CLI runs once on the tiny fixture;
// if that run ends with SIGILL, it is rebuilt in <commit>-noamx with AMX off (GGML_AMX_*=OFF and
// -mno-amx-* so -march=native cannot emit them) and the result says so (`amxGuard: true`).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { ensureFixture } from '../test/fixtures/synth.mjs';
import { tempDir } from '../test/helpers.mjs';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const src = join(root, 'deps', 'llama.cpp');
const AMX_OFF = ['-DGGML_AMX_TILE=OFF', '-DGGML_AMX_INT8=OFF', '-DGGML_AMX_BF16=OFF',
  '-DCMAKE_C_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16', '-DCMAKE_CXX_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16'];

function sh(cmd, args, env) {
  process.stderr.write(`native-ref: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
}

/** Configures and builds llama-mtmd-cli into `dir` (a no-op when it is up to date). */
function buildInto(dir, extra) {
  const env = { ...process.env };
  env.CCACHE_DIR ??= join(homedir(), '.cache', 'smolvlm-node', 'ccache');
  env.CCACHE_BASEDIR ??= root;
  env.CCACHE_NOHASHDIR ??= 'true';
  const jobs = env.CMAKE_BUILD_PARALLEL_LEVEL || '2';
  if (!existsSync(join(dir, 'build.ninja')) && !existsSync(join(dir, 'Makefile'))) {
    const gen = spawnSync('ninja', ['--version']).status === 0 ? ['-G', 'Ninja'] : [];
    sh('cmake', ['-S', src, '-B', dir, ...gen, '-DCMAKE_BUILD_TYPE=Release', '-DGGML_NATIVE=ON', '-DGGML_OPENMP=ON',
      '-DLLAMA_OPENSSL=OFF', '-DLLAMA_BUILD_TESTS=OFF', '-DLLAMA_BUILD_EXAMPLES=OFF', '-DLLAMA_BUILD_SERVER=OFF',
      '-DLLAMA_BUILD_APP=OFF', ...extra], env);
  }
  const t = Date.now();
  sh('cmake', ['--build', dir, '--target', 'llama-mtmd-cli', '--parallel', jobs], env);
  process.stderr.write(`native-ref: built in ${((Date.now() - t) / 1000).toFixed(0)} s\n`);
  return join(dir, 'bin', 'llama-mtmd-cli');
}

/** Runs the CLI once on the tiny fixture; resolves with the signal that ended it (null if none). */
async function smoke(cli) {
  const files = await ensureFixture({ size: 'tiny' });
  const image = join(tempDir(), 'smoke.png');
  await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 90 } } }).png().toFile(image);
  return new Promise((res, rej) => {
    const p = spawn(cli, ['-m', files.model, '--mmproj', files.mmproj, '--image', image, '-p', 'hi', '-n', '4', '-t', '2', '--temp', '0'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', rej);
    p.on('exit', (code, signal) => {
      if (signal) return res(signal);
      if (code !== 0) return rej(new Error(`native llama-mtmd-cli failed (${code}): ${err.slice(-2000)}`));
      res(null);
    });
  });
}

/**
 * Builds (once) and checks the native reference CLI.
 * @returns {Promise<{ cli: string, dir: string, commit: string, amxGuard: boolean }>}
 */
export async function nativeReference() {
  const { commit } = JSON.parse(readFileSync(join(root, 'deps', 'llama.cpp.json'), 'utf8'));
  const parent = process.env.SMOLVLM_NATIVE_REF_DIR || join(homedir(), '.cache', 'smolvlm-node', 'native-ref');
  const dir = join(parent, commit);
  const stamp = join(dir, 'smolvlm-checked.json');
  if (existsSync(stamp)) {
    const s = JSON.parse(readFileSync(stamp, 'utf8'));
    if (existsSync(s.cli)) return s;
  }
  let cli = buildInto(dir, []);
  let amxGuard = false;
  const signal = await smoke(cli);
  if (signal === 'SIGILL') {
    process.stderr.write('native-ref: the -march=native CLI died of SIGILL (a CPU that advertises AMX but faults on it?); rebuilding with AMX off\n');
    cli = buildInto(`${dir}-noamx`, AMX_OFF);
    const again = await smoke(cli);
    if (again) throw new Error(`the native CLI without AMX still died of ${again}`);
    amxGuard = true;
  } else if (signal) {
    throw new Error(`the native llama-mtmd-cli died of ${signal}`);
  }
  const s = { cli, dir, commit, amxGuard };
  writeFileSync(stamp, JSON.stringify(s, null, 2));
  return s;
}

// node bench/native.mjs: build (if needed), check, print
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  console.log(JSON.stringify(await nativeReference(), null, 2));
}
