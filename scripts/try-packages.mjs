#!/usr/bin/env node
// The release's check of built packages on every runner, Windows included (test/package/package.test.mjs
// is the thorough one, through a real registry, on POSIX): installs the given tarballs (the main
// package, this platform's package, optionally a GPU add-on) with npm into a temp folder, checks
// where the addon came from, and runs `smolvlm describe` on the tiny fixture. Without a GPU add-on
// the answer must equal this checkout's (the build the package was made from); with one, the add-on
// must be attached and either give a GPU device or report its fallback to the CPU.
//   node scripts/try-packages.mjs TGZ...
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tarballs = process.argv.slice(2).map((f) => resolve(f));
if (!tarballs.length) {
  console.error('usage: node scripts/try-packages.mjs TGZ...');
  process.exit(2);
}
const gpu = tarballs.map((f) => /-(cuda|vulkan)-\d[^/\\]*\.tgz$/.exec(f)?.[1]).find(Boolean);
const { ensureFixture } = await import('../test/fixtures/synth.mjs');
const { ensureTestImages } = await import('../test/fixtures/images.mjs');
const files = await ensureFixture({ size: 'tiny' });
const image = (await ensureTestImages()).square;
const args = ['describe', image, '--model', files.model, '--mmproj', files.mmproj, '--max-tokens', '12', '--temp', '0', '--threads', '2', '-q'];

const app = mkdtempSync(join(tmpdir(), 'smolvlm-try-'));
process.on('exit', () => rmSync(app, { recursive: true, force: true }));
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'try', private: true, type: 'module' }));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
execFileSync(npm, ['install', '--no-audit', '--no-fund', ...tarballs], { cwd: app, stdio: 'inherit', shell: process.platform === 'win32' });

const env = { ...process.env };
delete env.SMOLVLM_BINARY;
const probe = spawnSync(process.execPath, ['-e', "import('smolvlm-node').then((m) => { const b = m.backendInfo(); console.log(JSON.stringify({ addon: b.addon, devices: b.devices.map((d) => d.type) })) })"], { cwd: app, env, encoding: 'utf8' });
if (probe.status !== 0) fail(`loading failed:\n${probe.stderr}`);
const info = JSON.parse(probe.stdout);
console.log(JSON.stringify(info, null, 1));
if (info.addon.source !== 'package') fail(`the addon came from ${info.addon.source}, not the package`);

const run = spawnSync(process.execPath, [join(app, 'node_modules', 'smolvlm-node', 'bin', 'smolvlm.mjs'), ...args], { cwd: app, env, encoding: 'utf8' });
if (run.status !== 0 || !run.stdout.trim()) fail(`describe failed (${run.status}):\n${run.stderr}`);
console.log(`installed package answers: ${JSON.stringify(run.stdout)}`);
if (gpu) {
  const g = info.addon.gpuPackages.find((p) => p.package.endsWith(`-${gpu}`));
  if (!g?.attached) fail(`the ${gpu} add-on was not attached: ${JSON.stringify(g)}`);
  const onGpu = info.devices.some((d) => d !== 'cpu');
  if (!onGpu && !/did not initialise|found no GPU/.test(g.problem ?? '')) fail('no GPU device and no fallback reported');
  console.log(onGpu ? `the ${gpu} backend found a device` : `no ${gpu} device here: the CPU answered (${g.problem})`);
} else {
  const source = spawnSync(process.execPath, [join(root, 'bin', 'smolvlm.mjs'), ...args], { cwd: root, encoding: 'utf8' });
  if (source.status !== 0) fail(`the source build failed:\n${source.stderr}`);
  if (source.stdout !== run.stdout) fail(`the package answers ${JSON.stringify(run.stdout)}, the source build ${JSON.stringify(source.stdout)}`);
  console.log('equal to the source build');
}

function fail(msg) {
  console.error(`try-packages: ${msg}`);
  process.exit(1);
}
