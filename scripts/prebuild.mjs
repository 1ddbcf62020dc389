#!/usr/bin/env node
// Makes the prebuilt binary folder shipped in the npm package: prebuilds/<platform>-<arch>/ with
// the addon (named by prebuildify's N-API convention) and every library it loads beside it (ggml,
// llama, mtmd, all CPU variants, GPU backends), found at run time through RPATH $ORIGIN.
//   node scripts/prebuild.mjs [--skip-build] [--dest DIR]
// Without --skip-build it first runs prebuildify (node-gyp -> binding.gyp -> cmake-js).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { 'skip-build': { type: 'boolean' }, dest: { type: 'string' } } });
const dest = resolve(values.dest ?? join(root, 'prebuilds'), `${process.platform}-${process.arch}`);

if (!values['skip-build']) {
  const bin = join(dirname(createRequire(import.meta.url).resolve('prebuildify/package.json')), 'bin.js');
  const r = spawnSync(process.execPath, [bin, '--napi', '--strip', '--out', dirname(dest)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const rel = join(root, 'build', 'Release');
mkdirSync(dest, { recursive: true });
if (values['skip-build']) {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  copyFileSync(join(rel, 'smolvlm.node'), join(dest, 'smolvlm-node.napi.node'));
}
const shipped = [];
for (const f of readdirSync(rel)) {
  // llama-common and the CLI only serve the reference build
  if (!/\.(so|dylib|dll|metallib)$/.test(f) || /llama-common/.test(f)) continue;
  copyFileSync(join(rel, f), join(dest, f));
  shipped.push(f);
}
console.error(`prebuild: ${dest}: addon + ${shipped.length} libraries`);
