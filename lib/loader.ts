/**
 * Finding and loading the native addon: the one place that does. Candidates, in order:
 *   1. `SMOLVLM_BINARY` (a smolvlm.node path): that file and nothing else.
 *   2. A local build: `build/Release/smolvlm.node` in this package (a clone's `npm run build`, or
 *      `npx smolvlm build` in an installed copy).
 *   3. The platform package `@smolvlm-node/<os>[musl]-<arch>` (an optional dependency, sharp's
 *      layout: npm installs only the one whose os/cpu/libc fields match).
 * Whichever loads, this platform's GPU add-on packages (`@smolvlm-node/<platform>-cuda|-vulkan`),
 * when installed, add their ggml backend module: the paths go to native/backends.cc through
 * `SMOLVLM_BACKEND_MODULES` before the addon initialises. A module that does not initialise (no
 * driver, no device) leaves the CPU in charge, with a warning.
 * When nothing loads, NativeLoadError (ERR_NATIVE_LOAD) says what was detected, what was tried and
 * why each failed, and the fixes.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { familySync, versionSync } from 'detect-libc';
import { NativeLoadError } from './errors.js';
import type { AddonOrigin, GpuPackage } from './types.js';
export type { AddonOrigin, GpuPackage };

/** The npm scope of the binary packages. */
export const SCOPE = '@smolvlm-node';
/** Platforms with a prebuilt CPU package (the main package's optionalDependencies). */
export const CPU_PLATFORMS = [
  'linux-x64', 'linux-arm64', 'linuxmusl-x64', 'linuxmusl-arm64', 'darwin-arm64', 'darwin-x64', 'win32-x64', 'win32-arm64',
] as const;
/** GPU add-on packages per platform (opt-in: not dependencies of the main package). */
export const GPU_PLATFORMS: Readonly<Record<string, readonly GpuKind[]>> = {
  'linux-x64': ['cuda', 'vulkan'],
  'linux-arm64': ['cuda'],
  'win32-x64': ['cuda', 'vulkan'],
};
export type GpuKind = 'cuda' | 'vulkan';

/** What the loader found out about this process. */
export interface Runtime {
  platform: string;
  arch: string;
  /** Linux only. */
  libc?: 'glibc' | 'musl';
  libcVersion?: string;
  node: string;
  /** NODE_MODULE_VERSION (the addon uses N-API, so only `napi` matters). */
  abi: string;
  napi: string;
  /** The platform key of the packages: `linux-x64`, `linuxmusl-arm64`, `win32-x64`... */
  key: string;
}

/** A GPU add-on package found for this platform. */

/** Where the addon came from (`backendInfo().addon`). */

/** The platform key of the binary packages for this process. */
export function detectRuntime(): Runtime {
  const platform = process.platform;
  const arch = process.arch;
  let libc: Runtime['libc'];
  let libcVersion: string | undefined;
  if (platform === 'linux') {
    libc = familySync() === 'musl' ? 'musl' : 'glibc';
    libcVersion = versionSync() ?? undefined;
  }
  const key = `${platform}${libc === 'musl' ? 'musl' : ''}-${arch}`;
  return { platform, arch, libc, libcVersion, node: process.version, abi: process.versions.modules, napi: process.versions.napi ?? '?', key };
}

interface Candidate {
  source: AddonOrigin['source'];
  /** For the error message: "SMOLVLM_BINARY=...", "local build ...", "@smolvlm-node/linux-x64@0.1.0". */
  label: string;
  path?: string;
  package?: string;
  version?: string;
  /** Why it was not even tried (missing, wrong version). */
  missing?: string;
}

export interface Attempt {
  label: string;
  error: string;
}

const ADDON = 'smolvlm.node';
const MODULE_FILE = /^(lib)?ggml-[a-z0-9_]+\.(so|dll|dylib)$/;

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/** The directory of an installed package, or undefined when it is not installed. */
function packageDir(require: NodeJS.Require, name: string): string | undefined {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

function candidates(require: NodeJS.Require, root: string, version: string, rt: Runtime): Candidate[] {
  const explicit = process.env.SMOLVLM_BINARY;
  if (explicit) return [{ source: 'SMOLVLM_BINARY', label: `SMOLVLM_BINARY=${explicit}`, path: resolve(explicit) }];
  const local = join(root, 'build', 'Release', ADDON);
  const out: Candidate[] = [
    existsSync(local)
      ? { source: 'local build', label: `local build ${local}`, path: local }
      : { source: 'local build', label: `local build ${local}`, missing: 'not built' },
  ];
  const name = `${SCOPE}/${rt.key}`;
  const dir = packageDir(require, name);
  if (!dir) {
    out.push({ source: 'package', label: `${name}@${version}`, package: name, missing: 'not installed' });
  } else {
    const found = String(readJson(join(dir, 'package.json')).version);
    const c: Candidate = { source: 'package', label: `${name}@${found} (${dir})`, package: name, version: found, path: join(dir, 'lib', ADDON) };
    if (found !== version) c.missing = `version ${found}, but smolvlm-node is ${version} (they must match)`;
    out.push(c);
  }
  return out;
}

/** This platform's installed GPU packages, and whether each can be attached to an addon in `addonDir`. */
function gpuPackages(require: NodeJS.Require, rt: Runtime, version: string, addonDir: string): GpuPackage[] {
  const out: GpuPackage[] = [];
  for (const kind of GPU_PLATFORMS[rt.key] ?? []) {
    const name = `${SCOPE}/${rt.key}-${kind}`;
    const dir = packageDir(require, name);
    if (!dir) continue;
    const found = String(readJson(join(dir, 'package.json')).version);
    const lib = join(dir, 'lib');
    const files = existsSync(lib) ? readdirSync(lib).filter((f) => MODULE_FILE.test(f)) : [];
    const p: GpuPackage = { package: name, version: found, modules: files.map((f) => join(lib, f)), attached: false };
    const own = existsSync(addonDir) ? readdirSync(addonDir) : [];
    if (!own.some((f) => /^(lib)?ggml-base\.(so|dll|dylib)$/.test(f))) p.problem = `the addon in ${addonDir} is a static build (ggml inside it): rebuild it with the GPU (npx smolvlm build --${kind})`;
    else if (found !== version) p.problem = `version ${found}, but smolvlm-node is ${version}: npm install ${name}@${version}`;
    else if (files.length === 0) p.problem = `no ggml backend module in ${lib}`;
    else if (files.some((f) => own.includes(f))) p.problem = `the addon in ${addonDir} has its own ${files.join(', ')}`;
    else p.attached = true;
    out.push(p);
  }
  return out;
}

/** Hands the attached modules to native/backends.cc (read once, when the addon initialises). */
function exportModules(gpu: GpuPackage[], userModules: string | undefined): void {
  const modules = gpu.filter((g) => g.attached).flatMap((g) => g.modules);
  const all = [...(userModules ? [userModules] : []), ...modules];
  if (all.length) process.env.SMOLVLM_BACKEND_MODULES = all.join(delimiter);
  else delete process.env.SMOLVLM_BACKEND_MODULES;
  // Windows resolves a module's own DLLs (the CUDA runtime) through PATH, not the module's folder.
  if (process.platform === 'win32') {
    for (const m of modules) process.env.PATH = `${dirname(m)}${delimiter}${process.env.PATH ?? ''}`;
  }
}

export interface RawBackendInfo {
  loaded: string[];
  devices: { type: string }[];
}

/**
 * Loads the addon (once per call: binding.ts caches it) and returns it with `backendInfo()`
 * extended by `addon` (where it came from) and `gpuHints` (install commands for a GPU present
 * without its package). Throws NativeLoadError when nothing loads.
 */
export function loadAddon<T extends { backendInfo(): object }>(root: string): T {
  const require = createRequire(import.meta.url);
  const version = String(readJson(join(root, 'package.json')).version);
  const rt = detectRuntime();
  const userModules = process.env.SMOLVLM_BACKEND_MODULES;
  const attempts: Attempt[] = [];
  for (const c of candidates(require, root, version, rt)) {
    if (c.missing || !c.path) {
      attempts.push({ label: c.label, error: c.missing ?? 'no path' });
      continue;
    }
    const gpu = gpuPackages(require, rt, version, dirname(c.path));
    exportModules(gpu, userModules);
    let raw: T;
    try {
      raw = require(c.path) as T;
    } catch (err) {
      attempts.push({ label: c.label, error: (err as Error).message.split('\n')[0] });
      continue;
    } finally {
      // read once by the addon as it initialised; child processes must not inherit our list
      if (userModules === undefined) delete process.env.SMOLVLM_BACKEND_MODULES;
      else process.env.SMOLVLM_BACKEND_MODULES = userModules;
    }
    const origin: AddonOrigin = { source: c.source, path: c.path, package: c.package, version: c.version, gpuPackages: gpu };
    warnFallbacks(origin, raw.backendInfo() as RawBackendInfo);
    return withOrigin(raw, origin, rt, version);
  }
  throw new NativeLoadError('ERR_NATIVE_LOAD', loadErrorMessage(rt, version, attempts, require));
}

/** A GPU package whose module did not initialise: the CPU runs everything, and the user is told. */
function warnFallbacks(origin: AddonOrigin, info: RawBackendInfo): void {
  for (const g of origin.gpuPackages) {
    if (!g.attached) continue;
    const failed = g.modules.map((m) => m.split(/[\\/]/).pop()!).filter((f) => !info.loaded.includes(f));
    if (failed.length) {
      g.problem = `${failed.join(', ')} did not initialise (driver missing or too old?)`;
    } else if (!info.devices.some((d) => d.type === 'gpu' || d.type === 'igpu')) {
      g.problem = 'its backend found no GPU';
    }
    if (g.problem) {
      process.emitWarning(`${g.package}: ${g.problem}; running on the CPU. SMOLVLM_LOG_LEVEL=warn shows ggml's reason.`, { code: 'SMOLVLM_GPU_FALLBACK' });
    }
  }
}

function withOrigin<T extends { backendInfo(): object }>(raw: T, origin: AddonOrigin, rt: Runtime, version: string): T {
  let hints: string[] | undefined;
  const backendInfo = () => {
    const info = raw.backendInfo() as RawBackendInfo & object;
    hints ??= gpuHints(rt, version, origin, info);
    return { ...info, addon: origin, gpuHints: hints };
  };
  return { ...raw, backendInfo };
}

/** Evidence of a GPU on this machine, from files only (no child process). */
export function detectGpus(platform = process.platform): { nvidia?: string; vulkan?: string } {
  const out: { nvidia?: string; vulkan?: string } = {};
  const first = (paths: string[]) => paths.find((p) => existsSync(p));
  if (platform === 'linux') {
    out.nvidia = first(['/proc/driver/nvidia/version', '/dev/nvidiactl', '/etc/nv_tegra_release', '/usr/bin/nvidia-smi']);
    const libdirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib64', '/lib'];
    const loader = first(libdirs.map((d) => join(d, 'libvulkan.so.1')));
    let render: string | undefined;
    try {
      render = readdirSync('/dev/dri').find((f) => f.startsWith('renderD'));
    } catch { /* no DRM devices */ }
    if (loader && render) out.vulkan = `${loader} and /dev/dri/${render}`;
  } else if (platform === 'win32') {
    const sys = join(process.env.SystemRoot ?? 'C:\\Windows', 'System32');
    out.nvidia = first([join(sys, 'nvml.dll'), join(sys, 'nvidia-smi.exe')]);
    out.vulkan = first([join(sys, 'vulkan-1.dll')]);
  }
  return out;
}

/** Install commands for a GPU this machine has (`found`) and no loaded backend uses. */
export function gpuHints(rt: Runtime, version: string, origin: Pick<AddonOrigin, 'gpuPackages'>, info: RawBackendInfo, found = detectGpus()): string[] {
  if (info.devices.some((d) => d.type === 'gpu' || d.type === 'igpu')) return [];
  const offered = GPU_PLATFORMS[rt.key] ?? [];
  const installed = new Set(origin.gpuPackages.map((g) => g.package));
  const hints: string[] = [];
  const hint = (kind: GpuKind, what: string, evidence: string) => {
    const name = `${SCOPE}/${rt.key}-${kind}`;
    if (offered.includes(kind) && !installed.has(name)) {
      hints.push(`${what} found (${evidence}) but ${name} is not installed: npm install ${name}@${version}`);
    } else if (!offered.includes(kind)) {
      hints.push(`${what} found (${evidence}); no prebuilt ${kind} package for ${rt.key}: npx smolvlm build --${kind}`);
    }
  };
  if (found.nvidia) hint('cuda', 'NVIDIA GPU', found.nvidia);
  else if (found.vulkan) hint('vulkan', 'Vulkan GPU', found.vulkan);
  return hints;
}

/** Why a dlopen error happened, in words, when the message says so. */
function diagnose(message: string, rt: Runtime): string | undefined {
  if (/GLIBC_\d/.test(message)) return `it needs a newer glibc than this system's ${rt.libcVersion ?? ''}`.trim();
  if (/GLIBCXX_|CXXABI_/.test(message)) return "it needs a newer libstdc++ than this system's";
  if (/libc\.musl|ld-musl/.test(message)) return 'it was built for musl (Alpine), this system uses glibc';
  if (/Error relocating|symbol not found|__libc_/i.test(message)) return 'it was built for another C library (glibc vs musl)';
  if (/invalid ELF header|wrong ELF class|incompatible architecture|not a valid Win32|mach-o/i.test(message)) return 'it was built for another CPU or OS';
  if (/cannot open shared object|Library not loaded|could not be found/i.test(message)) return 'a library it links is missing: the installed copy is incomplete';
  if (/--no-addons|ERR_DLOPEN_DISABLED/.test(message)) return 'Node runs with --no-addons';
  return undefined;
}

/** The NativeLoadError text: detection, each attempt with why it failed, the fixes. */
export function loadErrorMessage(rt: Runtime, version: string, attempts: Attempt[], require: NodeJS.Require): string {
  const libc = rt.libc ? `, ${rt.libc}${rt.libcVersion ? ` ${rt.libcVersion}` : ''}` : '';
  const wanted = `${SCOPE}/${rt.key}`;
  const supported = (CPU_PLATFORMS as readonly string[]).includes(rt.key);
  const lines = [
    'smolvlm-node: could not load the native addon.',
    `Detected: ${rt.platform} ${rt.arch}${libc}, Node ${rt.node} (ABI ${rt.abi}, N-API ${rt.napi}).`,
    supported ? `Looked for the package ${wanted}@${version}.` : `No prebuilt package exists for ${rt.key}.`,
    'Tried:',
  ];
  for (const a of attempts) {
    const why = diagnose(a.error, rt);
    lines.push(`  - ${a.label}: ${a.error}${why ? ` (${why})` : ''}`);
  }
  // a package for another platform installed here (node_modules copied from another machine, or
  // a cross install) says why the right one is missing
  const others = CPU_PLATFORMS.filter((k) => k !== rt.key && packageDir(require, `${SCOPE}/${k}`));
  if (others.length) lines.push(`  (installed, but for another platform: ${others.map((k) => `${SCOPE}/${k}`).join(', ')})`);

  const [os, cpu] = [rt.platform, rt.arch];
  const fixes: string[] = [];
  const all = attempts.map((a) => a.error).join('\n');
  if (supported) {
    fixes.push(
      `install the optional dependencies (npm skips them with --omit=optional): npm install --include=optional smolvlm-node`,
      `node_modules made on another machine or for another platform (Docker, CI): install for this one: ` +
        `npm install --os=${os} --cpu=${cpu}${rt.libc ? ` --libc=${rt.libc}` : ''} smolvlm-node`,
    );
    if (/version .*must match/.test(all)) fixes.push(`install the matching binary: npm install ${wanted}@${version}`);
  }
  if (/GLIBC_|GLIBCXX_|CXXABI_/.test(all)) {
    const glibc = glibcRequired(require, wanted);
    fixes.push(`update the OS${glibc ? ` (the prebuilt needs glibc ${glibc}, found ${rt.libcVersion ?? 'unknown'})` : ''}, or build from source (next)`);
  }
  fixes.push('build from source for this machine (needs cmake, a C++17 compiler and git; a few minutes): npx smolvlm build');
  fixes.push('or point SMOLVLM_BINARY at a smolvlm.node you built');
  lines.push('Fixes:', ...fixes.map((f) => `  - ${f}`));
  return lines.join('\n');
}

/** The glibc range a platform package declares (`config.glibc`). */
function glibcRequired(require: NodeJS.Require, name: string): string | undefined {
  const dir = packageDir(require, name);
  if (!dir) return undefined;
  const config = readJson(join(dir, 'package.json')).config as { glibc?: string } | undefined;
  return config?.glibc;
}
