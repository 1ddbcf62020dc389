// The registry's `verified` claims (lib/registry.ts) hold: each names a fixture of the generator
// (test/fixtures/synth.mjs) whose vocabulary and tiling are the layout the entry states, and a
// test file runs generation on that fixture. No addon, no fixture files written.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KNOWN_MODELS } from '../../dist/registry.js';
import { SHAPES } from '../fixtures/synth.mjs';

const testDir = join(fileURLToPath(import.meta.url), '..', '..');

/** The layout sentence of a fixture, from its shape (the same words the registry uses). */
function layoutOf(size) {
  const s = SHAPES[size];
  const v = s.vision;
  const markers = s.vocab === 'smolvlm' ? 'tokens' : 'text';
  const perTile = (Math.floor(v.imageSize / v.patchSize) / v.scaleFactor) ** 2;
  return `${s.text.vocabSize}-token vocabulary, <global-img> and <row_R_col_C> are ${markers}; ${v.imageSize}-pixel tiles, `
    + `${v.patchSize}-pixel patches, scale factor ${v.scaleFactor}: ${perTile} tokens per tile`;
}

test('every verified model names a fixture with exactly the stated layout', () => {
  for (const m of KNOWN_MODELS) {
    if (m.verified === null) continue;
    assert.ok(Object.hasOwn(SHAPES, m.verified.fixture), `${m.name}: fixture ${m.verified.fixture} exists`);
    assert.equal(m.verified.layout, layoutOf(m.verified.fixture), m.name);
  }
});

test('SmolVLM-Instruct (2.2B) is verified on its own layout: markers as text, 81 tokens per tile', () => {
  const m = KNOWN_MODELS.find((k) => k.name === 'SmolVLM-Instruct');
  assert.equal(m.verified?.fixture, 'tiny-2.2b');
  assert.equal(layoutOf('tiny-2.2b'), layoutOf('2.2b'), 'the tiny fixture has the real 2.2B layout');
  assert.equal(layoutOf('256m'), layoutOf('500m'));
});

test('each verifying fixture is run by some test file', () => {
  const files = ['model', 'reference'].flatMap((d) => readdirSync(join(testDir, d)).filter((f) => f.endsWith('.test.mjs')).map((f) => readFileSync(join(testDir, d, f), 'utf8')));
  for (const m of KNOWN_MODELS) {
    if (m.verified === null) continue;
    const f = m.verified.fixture;
    assert.ok(files.some((src) => src.includes(`size: '${f}'`) || src.includes(`suite('${f}'`)), `${m.name}: a test runs fixture ${f}`);
  }
});

test('smolvlm models says which known model is verified on which layout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smolvlm-models-'));
  try {
    const out = execFileSync(process.execPath, [join(testDir, '..', 'bin', 'smolvlm.mjs'), 'models'], {
      env: { ...process.env, SMOLVLM_MODELS_DIR: dir, HF_HUB_OFFLINE: '1' }, encoding: 'utf8',
    });
    for (const m of KNOWN_MODELS) {
      const line = m.verified ? `${m.name}\t${m.parameters}\tverified on fixture ${m.verified.fixture}\t${m.verified.layout}` : `${m.name}\t${m.parameters}\tnot verified\t`;
      assert.ok(out.split('\n').some((l) => l.startsWith(line)), `${m.name} in:\n${out}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
