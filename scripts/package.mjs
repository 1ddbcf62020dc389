#!/usr/bin/env node
// Makes the npm packages as tarballs: this machine's platform package (@smolvlm-node/<key>: the
// addon and the libraries it loads, stripped) or a GPU add-on package (@smolvlm-node/<key>-<gpu>:
// only the ggml backend module, plus the CUDA runtime for cuda), and the main package.
//   node scripts/package.mjs --out DIR [--from BUILD] [--cross linux-arm64] [--gpu vulkan|cuda] [--no-main]
// --from BUILD: take the binaries from an existing build output (a folder holding smolvlm.node,
//   e.g. build/Release) instead of building; a reference build's extra tools are left out.
// --cross linux-arm64: cross-build the arm64 package with g++-aarch64-linux-gnu (every ARM variant;
//   with GCC < 14, which cannot build the armv9.2 SME variants, clang >= 16 on that GCC's sysroot).
// Without --from it builds the portable all-variants addon (no reference tools) into
// build/pkg-<key>[-gpu]/ (ccache makes a rebuild after the main build quick).
// Writes DIR/*.tgz and DIR/packages.json (name, file, sizes, glibc baseline of each package).
// Environment: SMOLVLM_CMAKE_ARGS (extra cmake definitions), CMAKE_BUILD_PARALLEL_LEVEL.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { devNull } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from './build.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    out: { type: 'string' }, from: { type: 'string' }, cross: { type: 'string' }, gpu: { type: 'string' },
    'no-main': { type: 'boolean' }, repository: { type: 'string' },
  },
});
if (!values.out) {
  console.error('usage: node scripts/package.mjs --out DIR [--from BUILD] [--cross linux-arm64] [--gpu vulkan|cuda] [--no-main]');
  process.exit(2);
}
const outDir = resolve(values.out);
mkdirSync(outDir, { recursive: true });
const main = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const version = main.version;

// dist/ carries the loader's platform table and detection; build it first (prepack would anyway)
run('npm', ['run', '--silent', 'build:ts'], { cwd: root });
const { CPU_PLATFORMS, GPU_PLATFORMS, SCOPE, detectRuntime } = await import('../dist/loader.js');

const CROSS = {
  'linux-arm64': { processor: 'aarch64', triple: 'aarch64-linux-gnu' },
};
if (values.cross && !CROSS[values.cross]) fail(`--cross ${values.cross}: only ${Object.keys(CROSS).join(', ')}`);
const key = values.cross ?? detectRuntime().key;
if (!CPU_PLATFORMS.includes(key)) fail(`no package is defined for ${key}`);
const gpu = values.gpu;
if (gpu && !(GPU_PLATFORMS[key] ?? []).includes(gpu)) fail(`no ${gpu} package is defined for ${key}`);
const name = `${SCOPE}/${key}${gpu ? `-${gpu}` : ''}`;
const triple = values.cross ? CROSS[values.cross].triple : undefined;
const tool = (t) => (triple ? `${triple}-${t}` : t);

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', ...opts });
  if (r.status !== 0) fail(`${cmd} ${argv.join(' ')} exited with ${r.status ?? r.signal}`);
}
function fail(msg) {
  console.error(`package: ${msg}`);
  process.exit(1);
}

// 1. The binaries
let binDir;
if (values.from) {
  binDir = resolve(values.from);
  if (!existsSync(join(binDir, 'smolvlm.node'))) fail(`${binDir} holds no smolvlm.node`);
} else {
  // build/cmake-<package>: the same depth as the main build's build/cmake, so ccache (hashing paths
  // relative to CCACHE_BASEDIR) finds the main build's objects
  const short = name.split('/')[1];
  const work = join(root, 'build', `pkg-${short}`);
  const cmakeDir = join(root, 'build', `cmake-${short}`);
  // SMOLVLM_CMAKE_ARGS="-DFOO=bar ..." as for scripts/build.mjs (e.g. CMAKE_CUDA_ARCHITECTURES)
  const cmakeArgs = (process.env.SMOLVLM_CMAKE_ARGS || '').split(/\s+/).filter(Boolean);
  if (values.cross) {
    mkdirSync(work, { recursive: true });
    const toolchain = join(work, 'toolchain.cmake');
    const cc = crossCompilers(triple);
    console.error(`package: cross-compiling for ${values.cross} with ${cc.cxx}${cc.note ? ` (${cc.note})` : ''}`);
    writeFileSync(toolchain, [
      'set(CMAKE_SYSTEM_NAME Linux)',
      `set(CMAKE_SYSTEM_PROCESSOR ${CROSS[values.cross].processor})`,
      `set(CMAKE_C_COMPILER ${cc.cc})`,
      `set(CMAKE_CXX_COMPILER ${cc.cxx})`,
      ...(cc.target ? [`set(CMAKE_C_COMPILER_TARGET ${cc.target})`, `set(CMAKE_CXX_COMPILER_TARGET ${cc.target})`] : []),
      `set(CMAKE_FIND_ROOT_PATH /usr/${triple})`,
      'set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)',
      'set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)',
      'set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)',
      '',
    ].join('\n'));
    cmakeArgs.push(`CMAKE_TOOLCHAIN_FILE=${toolchain}`, 'GGML_NATIVE=OFF');
  }
  binDir = build({ gpu: gpu ? [gpu] : [], out: work, buildDir: cmakeDir, cmakeArgs });
}

// 2. What goes in: the addon and what it loads (CPU package), or the GPU module (GPU package)
const lib = /\.(so|dylib|dll)$/;
const gpuModule = /^(lib)?ggml-(cuda|vulkan|hip|sycl|opencl|musa|cann)\.(so|dylib|dll)$/;
const files = readdirSync(binDir).filter((f) => {
  if (gpu) return new RegExp(`^(lib)?ggml-${gpu}\\.(so|dylib|dll)$`).test(f);
  if (f === 'smolvlm.node' || /\.metallib$/.test(f)) return true;
  // the reference build's libllama-common / tools are not loaded by the addon
  return lib.test(f) && /^(lib)?(ggml|llama|mtmd)/.test(f) && !/llama-common|^(lib)?common/.test(f) && !gpuModule.test(f);
});
if (gpu && files.length === 0) fail(`${binDir} has no ggml-${gpu} module (was it built with --${gpu}?)`);
const runtime = gpu === 'cuda' ? cudaRuntime(join(binDir, files[0])) : gpu ? [] : openmpRuntime(files.map((f) => join(binDir, f)));

const stage = join(outDir, 'stage', name.split('/')[1]);
rmSync(stage, { recursive: true, force: true });
mkdirSync(join(stage, 'lib'), { recursive: true });
for (const f of files) copyFileSync(join(binDir, f), join(stage, 'lib', f));
for (const p of runtime) copyFileSync(p.path, join(stage, 'lib', p.name));
strip(join(stage, 'lib'));

// 3. Its package.json, README and licence
const [os, arch] = key.replace('musl', '').split('-');
const libc = key.startsWith('linuxmusl') ? 'musl' : key.startsWith('linux') ? 'glibc' : undefined;
const needs = os === 'linux' ? glibcBaseline(join(stage, 'lib')) : {};
const pkg = {
  name,
  version,
  description: gpu
    ? `The ${gpu} backend of smolvlm-node for ${key} (install beside smolvlm-node to use the GPU)`
    : `Prebuilt smolvlm-node addon for ${key} (installed by smolvlm-node; do not depend on it directly)`,
  license: 'MIT',
  ...(values.repository || main.repository ? { repository: values.repository ? { type: 'git', url: values.repository } : main.repository } : {}),
  os: [os],
  cpu: [arch],
  ...(libc ? { libc: [libc] } : {}),
  files: ['lib/'],
  preferUnplugged: true,
  publishConfig: { access: 'public' },
  ...(needs.glibc && libc === 'glibc' ? { config: { glibc: `>=${needs.glibc}` } } : {}),
  engines: main.engines,
};
writeFileSync(join(stage, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync(join(stage, 'README.md'), [
  `# ${name}`, '',
  gpu
    ? `The ${gpu} ggml backend module for [smolvlm-node](https://www.npmjs.com/package/smolvlm-node) on ${key}. ` +
      `Install it next to smolvlm-node (\`npm install ${name}@${version}\`); smolvlm-node then uses the GPU by default, ` +
      'and falls back to the CPU with a warning when the driver does not initialise.'
    : `The prebuilt native addon of [smolvlm-node](https://www.npmjs.com/package/smolvlm-node) for ${key}, with ` +
      'llama.cpp/ggml and every CPU variant (the best one this CPU and OS support is chosen at run time). ' +
      'smolvlm-node installs it as an optional dependency; do not depend on it directly.',
  ...(needs.glibc ? ['', `Needs glibc >= ${needs.glibc}${needs.glibcxx ? ` and libstdc++ with GLIBCXX_${needs.glibcxx}` : ''}.`] : []),
  ...(runtime.length && gpu ? ['', `Includes NVIDIA's CUDA runtime libraries (${runtime.map((r) => r.name).join(', ')}), redistributed under the CUDA EULA.`] : []),
  ...(runtime.length && !gpu ? ['', `Includes the OpenMP runtime ggml's CPU backend runs its threads on (${runtime.map((r) => r.name).join(', ')}): ` +
    (process.platform === 'win32' ? "Microsoft's, redistributable with Visual C++." : "GCC's libgomp, under the GPL-3.0 with the GCC Runtime Library Exception.")] : []),
  '',
].join('\n'));
const llamaLicense = join(root, 'deps', 'llama.cpp', 'LICENSE');
writeFileSync(join(stage, 'LICENSE'), [
  'smolvlm-node is MIT licensed (see the smolvlm-node package).',
  '',
  'This package contains binaries of llama.cpp and ggml (https://github.com/ggml-org/llama.cpp):',
  '',
  existsSync(llamaLicense) ? readFileSync(llamaLicense, 'utf8') : 'MIT License, Copyright (c) 2023-2024 The ggml authors',
].join('\n'));

// 4. Tarballs
const report = [];
report.push(pack(stage, { name, key, gpu: gpu ?? null, files: files.length + runtime.length, ...needs }));
if (!values['no-main'] && !gpu) report.push(pack(root, { name: main.name }));
rmSync(join(outDir, 'stage'), { recursive: true, force: true });
const reportFile = join(outDir, 'packages.json');
const previous = existsSync(reportFile) ? JSON.parse(readFileSync(reportFile, 'utf8')) : [];
writeFileSync(reportFile, `${JSON.stringify([...previous.filter((p) => !report.some((r) => r.name === p.name)), ...report], null, 2)}\n`);
for (const r of report) {
  console.log(`${r.name}@${version}: ${r.file}, tarball ${mb(r.tarball)}, installed ${mb(r.installed)}` +
    `${r.glibc ? `, needs GLIBC_${r.glibc}${r.glibcxx ? ` GLIBCXX_${r.glibcxx}` : ''}${r.cxxabi ? ` CXXABI_${r.cxxabi}` : ''}` : ''}`);
}

/**
 * The cross compilers: g++-<triple> when it can build every ARM variant ggml has (the armv9.2 SME
 * ones need GCC >= 14), else clang (>= 16) targeting <triple> with that GCC's sysroot and binutils.
 */
function crossCompilers(triple) {
  const probe = (cxx, extra) =>
    spawnSync(cxx, [...extra, '-march=armv9.2-a+sme', '-x', 'c++', '-c', '-', '-o', devNull], { input: 'int main() { return 0; }\n' }).status === 0;
  if (probe(`${triple}-g++`, [])) return { cc: `${triple}-gcc`, cxx: `${triple}-g++` };
  if (spawnSync(`${triple}-g++`, ['--version']).status !== 0) fail(`${triple}-g++ not found (apt-get install g++-${triple})`);
  for (const v of ['', '-20', '-19', '-18', '-17', '-16']) {
    if (probe(`clang++${v}`, [`--target=${triple}`])) {
      return { cc: `clang${v}`, cxx: `clang++${v}`, target: triple, note: `${triple}-g++ cannot build ggml's armv9.2 (SME) variants: clang with its sysroot` };
    }
  }
  fail(`${triple}-g++ cannot build ggml's armv9.2 (SME) CPU variants (GCC >= 14 can), and no clang >= 16 was found (apt-get install clang-16)`);
}

function mb(n) {
  return `${(n / 1e6).toFixed(2)} MB`;
}

/** npm pack `dir` into outDir; returns the report entry (tarball and unpacked sizes). */
function pack(dir, entry) {
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', outDir], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const [info] = JSON.parse(out.slice(out.indexOf('[')));
  return { ...entry, file: info.filename, tarball: statSync(join(outDir, info.filename)).size, installed: info.unpackedSize, entries: info.entryCount };
}

/** Strips symbols the loader does not need (the debug info is most of a Release build's size). */
function strip(dir) {
  if (process.platform === 'win32') return; // MSVC keeps symbols in .pdb files, not shipped
  const args = process.platform === 'darwin' ? ['-x'] : ['--strip-unneeded'];
  for (const f of readdirSync(dir)) {
    if (/\.(so|node|dylib)$|\.so\.\d+$/.test(f)) run(tool('strip'), [...args, join(dir, f)]);
  }
}

/** The highest GLIBC_, GLIBCXX_ and CXXABI_ symbol versions the binaries reference (objdump -T). */
function glibcBaseline(dir) {
  const max = {};
  const newer = (a, b) => {
    const pa = a.split('.').map(Number), pb = b.split('.').map(Number);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) > (pb[i] ?? 0);
    return false;
  };
  for (const f of readdirSync(dir)) {
    const text = execFileSync(tool('objdump'), ['-T', join(dir, f)], { encoding: 'utf8', maxBuffer: 64 << 20 });
    for (const [, kind, v] of text.matchAll(/\b(GLIBC|GLIBCXX|CXXABI)_(\d+(?:\.\d+)*)\b/g)) {
      const k = kind.toLowerCase();
      if (!max[k] || newer(v, max[k])) max[k] = v;
    }
  }
  return max;
}

/**
 * The OpenMP runtime the CPU variants link (GGML_OPENMP, CMakeLists.txt), copied beside them: their
 * RUNPATH is $ORIGIN, so the package works where the system has none (slim images, Alpine without
 * libgomp). Linux: libgomp.so.1 (or LLVM's libomp.so) named in a library's NEEDED entries, found
 * through the compiler (the cross compiler for --cross). Windows: vcomp140.dll from the Visual C++
 * redistributable folder (VCToolsRedistDir, set by the developer prompt). macOS: Apple's clang has
 * no OpenMP, so ggml keeps its own thread pool there and nothing is copied.
 */
function openmpRuntime(paths) {
  if (process.platform === 'win32') {
    const redist = process.env.VCToolsRedistDir;
    if (!redist) return [];
    const archDir = join(redist, process.arch === 'arm64' ? 'arm64' : 'x64');
    const omp = existsSync(archDir) ? readdirSync(archDir).find((d) => /^Microsoft\.VC\d+\.OpenMP$/.test(d)) : undefined;
    const dll = omp && join(archDir, omp, 'vcomp140.dll');
    return dll && existsSync(dll) ? [{ name: 'vcomp140.dll', path: dll }] : [];
  }
  if (process.platform !== 'linux' && !triple) return [];
  const needed = new Set();
  for (const p of paths) {
    if (!/\.(so|node)$/.test(p)) continue;
    const text = execFileSync(tool('readelf'), ['-d', p], { encoding: 'utf8' });
    for (const [, so] of text.matchAll(/\(NEEDED\)\s+Shared library: \[(lib(?:gomp|omp|iomp5)\.so[.\d]*)\]/g)) needed.add(so);
  }
  return [...needed].map((so) => {
    const found = execFileSync(tool('gcc'), [`-print-file-name=${so}`], { encoding: 'utf8' }).trim();
    if (!found.startsWith('/') || !existsSync(found)) fail(`the CPU backend needs ${so}, which ${tool('gcc')} does not find`);
    return { name: so, path: found };
  });
}

/** The CUDA runtime libraries the cuda module links (copied beside it: the module's RPATH is $ORIGIN). */
function cudaRuntime(module) {
  if (process.platform === 'win32') {
    const bin = join(process.env.CUDA_PATH ?? '', 'bin');
    if (!existsSync(bin)) fail('CUDA_PATH is not set: the CUDA runtime DLLs cannot be found');
    return readdirSync(bin).filter((f) => /^(cudart|cublas|cublasLt)64_\d+\.dll$/.test(f)).map((f) => ({ name: f, path: join(bin, f) }));
  }
  const ldd = execFileSync('ldd', [module], { encoding: 'utf8' });
  return [...ldd.matchAll(/^\s*(libcu(?:dart|blas|blasLt)\.so[.\d]*) => (\S+)/gm)].map(([, soname, path]) => ({ name: soname, path }));
}
