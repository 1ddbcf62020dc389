// The test layout: every test file lives in one of the folders `npm test` runs (unit: no addon,
// seconds; model: the addon with fixtures, local servers and processes; reference: compared with
// llama.cpp's own tools; package: the npm packages installed), none at test/'s root where no script
// would find it, and `npm test` runs every folder.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const FOLDERS = ['unit', 'model', 'reference', 'package'];
const isTest = (f) => /\.test\.mjs$/.test(f);

test('no test file at the root of test/: each goes in unit/, model/, reference/ or package/', () => {
  const stray = readdirSync(join(root, 'test')).filter(isTest);
  assert.deepEqual(stray, [], `move ${stray.join(', ')} into test/{${FOLDERS.join(',')}}/ (see docs/architecture.md)`);
});

test('npm test runs every folder, and each folder has its own script', () => {
  const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  for (const d of FOLDERS) {
    assert.ok(readdirSync(join(root, 'test', d)).some(isTest), `test/${d}/ has tests`);
    assert.ok(scripts.test.includes(`test/${d}/`), `npm test runs test/${d}/: ${scripts.test}`);
    assert.ok(scripts[`test:${d}`]?.includes(`test/${d}/`), `a test:${d} script runs test/${d}/`);
  }
});
