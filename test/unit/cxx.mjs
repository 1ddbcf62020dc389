// Compiling the C++ test drivers of test/unit/ with the system compiler (CXX, else c++).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cxx = process.env.CXX || 'c++';

/** Why the drivers cannot be built here (a skip message), or false. */
export const noCompiler = spawnSync(cxx, ['--version'], { encoding: 'utf8' }).status === 0 ? false : `no C++ compiler ('${cxx} --version' failed; set CXX to one)`;

const dirs = [];

/**
 * Compiles `sources` (paths from the repository root) into a program in a temp folder, with the
 * repository folders `includes` on the include path and `link` arguments last; returns its path.
 */
export function compile(name, sources, { includes = ['native'], link = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), `smolvlm-${name}-`));
  dirs.push(dir);
  const out = join(dir, name);
  const args = ['-std=c++17', '-O1', ...includes.flatMap((d) => ['-I', join(root, d)]), ...sources.map((s) => join(root, s)), '-o', out, ...link];
  const r = spawnSync(cxx, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `compiling ${name} failed:\n${r.stderr}`);
  return out;
}

/** Removes what compile() made. */
export function cleanUp() {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
