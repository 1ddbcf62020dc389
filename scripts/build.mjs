#!/usr/bin/env node
// Builds the native addon from source: provisions llama.cpp (deps/provision.mjs), then runs cmake-js.
//
// Two entries:
// - `npx smolvlm build [--cuda|--vulkan|--metal] [--portable] [--jobs N]` (bin/smolvlm.mjs calls
//   cli()): ONE CPU variant for this machine (-march=native, static), into the package's
//   build/Release, which the loader (lib/loader.ts) prefers to any prebuilt package.
// - `node scripts/build.mjs [--native] [--cuda] [--vulkan] [--metal] [--reference] [--debug]
//   [--out DIR] [--build-dir DIR]` (npm run build:native, scripts/package.mjs): by default the
//   portable build with every CPU variant, as the platform packages ship it.
// Environment: SMOLVLM_GPU=cuda|vulkan|metal, SMOLVLM_NATIVE=1, SMOLVLM_BUILD_REFERENCE=1,
// SMOLVLM_CMAKE_ARGS="-DFOO=bar ..." (extra cmake definitions), CMAKE_BUILD_PARALLEL_LEVEL.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;

class BuildError extends Error {}

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit' });
  if (r.error) throw new BuildError(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new BuildError(`${[cmd, ...argv].join(' ')} exited with ${r.status ?? r.signal}`);
}

/** Whether `cmd` is on PATH (no child process). */
function onPath(cmd) {
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', '.bat'] : [''];
  return (env.PATH ?? '').split(delimiter).some((d) => d && exts.some((e) => existsSync(join(d, cmd + e))));
}

/**
 * Builds the addon and the libraries it loads into `out` (default build/Release).
 * @param {{ native?: boolean, gpu?: string[], reference?: boolean, debug?: boolean, out?: string,
 *           buildDir?: string, jobs?: string, cmakeArgs?: string[] }} o
 * @returns {string} the output folder
 */
export function build(o = {}) {
  run(process.execPath, [join(root, 'deps', 'provision.mjs')]);
  const defs = [];
  for (const g of o.gpu ?? []) defs.push(`GGML_${g.toUpperCase()}=ON`);
  if (o.native) defs.push('SMOLVLM_NATIVE=ON');
  if (o.reference) defs.push('SMOLVLM_BUILD_REFERENCE=ON');
  for (const d of o.cmakeArgs ?? []) defs.push(d.replace(/^-D/, ''));

  const require = createRequire(import.meta.url);
  const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  const jobs = o.jobs || env.CMAKE_BUILD_PARALLEL_LEVEL || String(availableParallelism());
  // The addon and the libraries it loads land together in `out`; CMake works in build/cmake.
  const outDir = resolve(o.out ?? join(root, 'build', 'Release'));
  const cmakeDir = resolve(o.buildDir ?? join(root, 'build', 'cmake'));
  const common = ['--directory', root, '--out', cmakeDir, ...(o.debug ? ['--debug'] : [])];
  // configure every time (cheap): `cmake-js compile` on an existing folder would keep its old options
  run(process.execPath, [cmakeJs, 'configure', ...common, `--CDSMOLVLM_OUTPUT_DIR=${outDir}`, ...defs.map((d) => `--CD${d}`)]);
  run(process.execPath, [cmakeJs, 'build', ...common, '--parallel', jobs]);
  return outDir;
}

const GPUS = ['cuda', 'vulkan', 'metal'];

/** Options from the environment (npm run build:native's documented variables). */
function fromEnv() {
  const gpu = (env.SMOLVLM_GPU || '').toLowerCase();
  return {
    gpu: GPUS.includes(gpu) ? [gpu] : [],
    native: env.SMOLVLM_NATIVE === '1',
    reference: env.SMOLVLM_BUILD_REFERENCE === '1',
    cmakeArgs: (env.SMOLVLM_CMAKE_ARGS || '').split(/\s+/).filter(Boolean),
  };
}

const HELP = `Usage: smolvlm build [--cuda | --vulkan | --metal] [--portable] [--jobs N]

Builds smolvlm-node's native addon from source for this machine, for when no prebuilt package
fits (or to get a GPU backend that has none). The result goes to the package's build/Release,
which smolvlm-node loads before any prebuilt package (delete that folder to go back).
Needs cmake (>= 3.21), a C++17 compiler and git; llama.cpp's source is fetched at the pinned
commit (deps/llama.cpp.json) from GitHub, else from the npm registry. ccache is used when present.

  --cuda, --vulkan, --metal   also build that GPU backend (its SDK must be installed)
  --portable                  every CPU variant (what the prebuilt packages ship), not only this CPU's
  --jobs N                    parallel compile jobs (default: CMAKE_BUILD_PARALLEL_LEVEL or all cores)
  --out DIR                   put the addon elsewhere (then set SMOLVLM_BINARY=DIR/smolvlm.node)
`;

/**
 * `smolvlm build`: one CPU variant for this machine, with cmake's progress on the terminal.
 * @param {string[]} argv the arguments after `build`
 * @returns {Promise<number>} the exit code
 */
export async function cli(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        cuda: { type: 'boolean' }, vulkan: { type: 'boolean' }, metal: { type: 'boolean' },
        portable: { type: 'boolean' }, jobs: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`smolvlm build: ${err.message}\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const gpu = GPUS.filter((g) => values[g]);
  // (Windows: cmake finds Visual Studio itself, cl.exe need not be on PATH)
  const needs = [['cmake'], ['git'], ...(process.platform === 'win32' ? [] : [['c++', 'g++', 'clang++']])];
  const missing = needs.filter((alts) => !alts.some(onPath)).map((alts) => alts.join(' or '));
  if (missing.length) {
    process.stderr.write(`smolvlm build: ${missing.join(', ')} not found on PATH; the source build needs cmake, a C++17 compiler and git.\n`);
    return 1;
  }
  const pin = JSON.parse(readFileSync(join(root, 'deps', 'llama.cpp.json'), 'utf8'));
  const what = values.portable ? 'every CPU variant' : "this machine's CPU only (-march=native)";
  process.stderr.write(`smolvlm build: llama.cpp ${pin.commit.slice(0, 10)}, ${what}${gpu.length ? ` + ${gpu.join(', ')}` : ''}\n`);
  const start = Date.now();
  try {
    // a static (native) addon next to a portable build's libraries would be misread by the loader
    const outDir = resolve(values.out ?? join(root, 'build', 'Release'));
    if (existsSync(outDir)) {
      for (const f of readdirSync(outDir)) if (/\.(node|so|dll|dylib)$/.test(f)) rmSync(join(outDir, f), { force: true });
    }
    const out = build({ ...fromEnv(), native: !values.portable, gpu, reference: false, jobs: values.jobs, out: outDir });
    const s = Math.round((Date.now() - start) / 1000);
    process.stderr.write(`smolvlm build: ${join(out, 'smolvlm.node')} built in ${Math.floor(s / 60)}m ${s % 60}s\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    process.stderr.write(`smolvlm build: ${err.message}\n`);
    return 1;
  }
}

// node scripts/build.mjs ...
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { values } = parseArgs({
    options: {
      native: { type: 'boolean' }, cuda: { type: 'boolean' }, vulkan: { type: 'boolean' }, metal: { type: 'boolean' },
      reference: { type: 'boolean' }, debug: { type: 'boolean' }, out: { type: 'string' }, 'build-dir': { type: 'string' },
    },
  });
  const e = fromEnv();
  try {
    build({
      ...e,
      native: values.native || e.native,
      reference: values.reference || e.reference,
      gpu: [...new Set([...e.gpu, ...GPUS.filter((g) => values[g])])],
      debug: values.debug,
      out: values.out,
      buildDir: values['build-dir'],
    });
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    console.error(`build: ${err.message}`);
    process.exit(1);
  }
}
