// lib/loader.ts without an addon: the package names per platform, the GPU install hints and the
// wording of ERR_NATIVE_LOAD for the failures a user meets (the end-to-end cases, with a real
// install, are in test/package/package.test.mjs).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { CPU_PLATFORMS, GPU_PLATFORMS, detectRuntime, gpuHints, loadErrorMessage } from '../../dist/loader.js';
import { readJson } from '../fixtures/registry.mjs';
import { root, tempDir } from '../helpers.mjs';

const version = readJson(join(root, 'package.json')).version;
const rt = (key, extra = {}) => {
  const [platform, arch] = key.replace('musl', '').split('-');
  const libc = key.startsWith('linuxmusl') ? 'musl' : key.startsWith('linux') ? 'glibc' : undefined;
  return { platform, arch, libc, libcVersion: libc === 'glibc' ? '2.31' : undefined, node: 'v20.20.2', abi: '115', napi: '9', key, ...extra };
};
const cpuOnly = { loaded: ['libggml-cpu-haswell.so'], devices: [{ type: 'cpu' }] };
// resolves nothing: no @smolvlm-node package is installed next to an empty folder
const nowhere = createRequire(join(tempDir(), 'x.js'));

test('this machine has a key; the main package lists exactly the CPU packages, an arm key never names x64', () => {
  const me = detectRuntime();
  assert.match(me.key, /^(linux|linuxmusl|darwin|win32|[a-z]+)-[a-z0-9]+$/);
  const pkg = readJson(join(root, 'package.json'));
  assert.deepEqual(Object.keys(pkg.optionalDependencies), CPU_PLATFORMS.map((k) => `@smolvlm-node/${k}`));
  assert.ok(Object.values(pkg.optionalDependencies).every((v) => v === version), 'exact versions');
  assert.ok(!Object.keys(pkg.optionalDependencies).some((n) => /cuda|vulkan/.test(n)), 'GPU packages are opt-in');
  for (const k of CPU_PLATFORMS) if (k.includes('arm64')) assert.ok(!k.includes('x64'));
  for (const s of ['preinstall', 'install', 'postinstall']) assert.equal(pkg.scripts[s], undefined);
});

test('a GPU without its package: the exact install command; none when a GPU backend already runs', () => {
  const none = { gpuPackages: [] };
  assert.deepEqual(gpuHints(rt('linux-x64'), version, none, cpuOnly, { nvidia: '/proc/driver/nvidia/version' }),
    [`NVIDIA GPU found (/proc/driver/nvidia/version) but @smolvlm-node/linux-x64-cuda is not installed: npm install @smolvlm-node/linux-x64-cuda@${version}`]);
  assert.deepEqual(gpuHints(rt('linux-x64'), version, none, cpuOnly, { vulkan: '/usr/lib/x86_64-linux-gnu/libvulkan.so.1 and /dev/dri/renderD128' }),
    [`Vulkan GPU found (/usr/lib/x86_64-linux-gnu/libvulkan.so.1 and /dev/dri/renderD128) but @smolvlm-node/linux-x64-vulkan is not installed: npm install @smolvlm-node/linux-x64-vulkan@${version}`]);
  assert.deepEqual(gpuHints(rt('linux-arm64'), version, none, cpuOnly, { vulkan: 'x' }),
    ['Vulkan GPU found (x); no prebuilt vulkan package for linux-arm64: npx smolvlm build --vulkan']);
  assert.deepEqual(gpuHints(rt('win32-x64'), version, none, cpuOnly, { nvidia: 'C:\\Windows\\System32\\nvml.dll' })[0],
    `NVIDIA GPU found (C:\\Windows\\System32\\nvml.dll) but @smolvlm-node/win32-x64-cuda is not installed: npm install @smolvlm-node/win32-x64-cuda@${version}`);
  const installed = { gpuPackages: [{ package: '@smolvlm-node/linux-x64-cuda', version, modules: [], attached: true, problem: 'x' }] };
  assert.deepEqual(gpuHints(rt('linux-x64'), version, installed, cpuOnly, { nvidia: 'y' }), [], 'installed: its own problem is reported instead');
  assert.deepEqual(gpuHints(rt('linux-x64'), version, none, { loaded: [], devices: [{ type: 'cpu' }, { type: 'gpu' }] }, { nvidia: 'y' }), []);
  assert.deepEqual(gpuHints(rt('darwin-arm64'), version, none, cpuOnly, {}), []);
  assert.deepEqual(Object.keys(GPU_PLATFORMS).sort(), ['linux-arm64', 'linux-x64', 'win32-x64']);
});

test('ERR_NATIVE_LOAD names the detected system, each attempt with its cause, and the fixes', () => {
  const glibc = loadErrorMessage(rt('linux-x64'), version, [
    { label: 'local build /p/build/Release/smolvlm.node', error: 'not built' },
    { label: `@smolvlm-node/linux-x64@${version} (/p/node_modules/@smolvlm-node/linux-x64)`, error: "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by /p/lib/libllama.so)" },
  ], nowhere);
  assert.match(glibc, /^smolvlm-node: could not load the native addon\.\nDetected: linux x64, glibc 2\.31, Node v20\.20\.2 \(ABI 115, N-API 9\)\./);
  assert.match(glibc, /Looked for the package @smolvlm-node\/linux-x64@/);
  assert.match(glibc, /GLIBC_2\.34' not found .*\(it needs a newer glibc than this system's 2\.31\)/);
  assert.match(glibc, /update the OS/);
  assert.match(glibc, /npm install --include=optional smolvlm-node/);
  assert.match(glibc, /npm install --os=linux --cpu=x64 --libc=glibc smolvlm-node/);
  assert.match(glibc, /npx smolvlm build/);

  const cxx = loadErrorMessage(rt('linux-x64'), version, [{ label: 'p', error: "libstdc++.so.6: version `GLIBCXX_3.4.30' not found" }], nowhere);
  assert.match(cxx, /needs a newer libstdc\+\+/);
  const musl = loadErrorMessage(rt('linuxmusl-arm64'), version, [{ label: 'p', error: 'Error relocating /p/lib/smolvlm.node: __memcpy_chk: symbol not found' }], nowhere);
  assert.match(musl, /Detected: linux arm64, musl/);
  assert.match(musl, /built for another C library/);
  assert.match(musl, /npm install --os=linux --cpu=arm64 --libc=musl smolvlm-node/);
  const other = loadErrorMessage(rt('linux-x64'), version, [{ label: 'p', error: 'libc.musl-x86_64.so.1: cannot open shared object file: No such file or directory' }], nowhere);
  assert.match(other, /built for musl \(Alpine\), this system uses glibc/);
  const stale = loadErrorMessage(rt('darwin-arm64'), version, [{ label: 'p', error: `version 0.0.1, but smolvlm-node is ${version} (they must match)` }], nowhere);
  assert.match(stale, new RegExp(`npm install @smolvlm-node/darwin-arm64@${version.replaceAll('.', '\\.')}`));
  assert.doesNotMatch(stale, /--libc/);
  const unsupported = loadErrorMessage(rt('freebsd-x64', { platform: 'freebsd', arch: 'x64', libc: undefined }), version, [{ label: 'p', error: 'not installed' }], nowhere);
  assert.match(unsupported, /No prebuilt package exists for freebsd-x64/);
  assert.doesNotMatch(unsupported, /--include=optional/);
  assert.match(unsupported, /npx smolvlm build/);
});
