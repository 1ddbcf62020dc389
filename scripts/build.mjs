#!/usr/bin/env node
// Builds the native addon from source: provisions llama.cpp, then runs cmake-js.
//   node scripts/build.mjs [--native] [--cuda] [--vulkan] [--metal] [--reference] [--debug] [--out DIR]
// (--out: where the addon and its libraries go, default build/Release; --build-dir: CMake's
// working folder, default build/cmake)
// Environment: SMOLVLM_GPU=cuda|vulkan|metal, SMOLVLM_NATIVE=1, SMOLVLM_BUILD_REFERENCE=1,
// SMOLVLM_CMAKE_ARGS="-DFOO=bar ..." (extra cmake definitions), CMAKE_BUILD_PARALLEL_LEVEL.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
const env = process.env;

const run = (cmd, argv) => {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

run(process.execPath, [join(root, 'deps', 'provision.mjs')]);

const defs = [];
const gpu = (env.SMOLVLM_GPU || '').toLowerCase();
if (flag('cuda') || gpu === 'cuda') defs.push('GGML_CUDA=ON');
if (flag('vulkan') || gpu === 'vulkan') defs.push('GGML_VULKAN=ON');
if (flag('metal') || gpu === 'metal') defs.push('GGML_METAL=ON');
if (flag('native') || env.SMOLVLM_NATIVE === '1') defs.push('SMOLVLM_NATIVE=ON');
if (flag('reference') || env.SMOLVLM_BUILD_REFERENCE === '1') defs.push('SMOLVLM_BUILD_REFERENCE=ON');
for (const d of (env.SMOLVLM_CMAKE_ARGS || '').split(/\s+/).filter(Boolean)) defs.push(d.replace(/^-D/, ''));

const require = createRequire(import.meta.url);
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const jobs = env.CMAKE_BUILD_PARALLEL_LEVEL || String(availableParallelism());
// CMake works in build/cmake (apart from node-gyp's own files in build/ when it drives us through
// binding.gyp); the addon and the libraries it loads land together in build/Release, where
// node-gyp-build looks.
const outDir = resolve(option('out') ?? join(root, 'build', 'Release'));
const cmakeDir = resolve(option('build-dir') ?? join(root, 'build', 'cmake'));
const common = ['--directory', root, '--out', cmakeDir, ...(flag('debug') ? ['--debug'] : [])];
// configure every time (cheap): `cmake-js compile` on an existing folder would keep its old options
run(process.execPath, [cmakeJs, 'configure', ...common, `--CDSMOLVLM_OUTPUT_DIR=${outDir}`, ...defs.map((d) => `--CD${d}`)]);
run(process.execPath, [cmakeJs, 'build', ...common, '--parallel', jobs]);
