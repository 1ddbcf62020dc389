// The fuzzer in the test suite (issue 14): the harness's own checks, and a short fuzz run.
//
// The short run (250 cases, 50 per class, seed 1, two children at a time: a minute or two) asserts
// what issue 14 requires: no case crashes, hangs, is rejected untyped, reaches a loopback server
// or contradicts what its generator knows (strict). The same cases: `npm run fuzz -- --cases 250
// --seed 1 --jobs 2 --strict`. The long run and its table: docs/reliability.md.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { caseRng, listSlot } from '../fuzz/prng.mjs';
import { classify } from '../fuzz/classify.mjs';
import { loadDoc, writeDoc } from '../fuzz/gguf-doc.mjs';
import { runCase, runCases } from '../fuzz/harness.mjs';
import { SELFTESTS } from '../fuzz/classes/selftest.mjs';
import { fuzz, planCases } from '../fuzz/run.mjs';
import { formatTable } from '../fuzz/report.mjs';
import { ensureFixture, tempDir } from '../helpers.mjs';

describe('fuzz harness', () => {
  test('a case is a pure function of (seed, class, index)', () => {
    const draw = (seed, cls, index) => {
      const rng = caseRng(seed, cls, index);
      return Array.from({ length: 8 }, () => rng.u32());
    };
    assert.deepEqual(draw(3, 'gguf', 7), draw(3, 'gguf', 7));
    assert.notDeepEqual(draw(3, 'gguf', 7), draw(3, 'gguf', 8));
    assert.notDeepEqual(draw(3, 'gguf', 7), draw(4, 'gguf', 7));
    const slots = Array.from({ length: 40 }, (_, i) => listSlot(5, 'meta', i, 40));
    assert.deepEqual([...slots].sort((a, b) => a - b), [...Array(40).keys()], 'the first N indexes visit a list of N once');
    assert.equal(listSlot(5, 'meta', 40, 40), -1);
  });

  test('cases are spread over the classes', () => {
    const cases = planCases({ total: 11, seeds: [1, 2], classes: ['a', 'b', 'c'] });
    assert.equal(cases.length, 22);
    assert.deepEqual(cases.filter((c) => c.seed === 1).map((c) => c.cls).join(''), 'aaaabbbbccc');
  });

  test('the GGUF serializer rewrites the fixtures byte for byte', async () => {
    const { model, mmproj } = await ensureFixture({ size: 'tiny' });
    const dir = tempDir();
    for (const path of [model, mmproj]) {
      const out = join(dir, 'rewritten.gguf');
      await writeDoc(out, await loadDoc(path));
      assert.ok(readFileSync(out).equals(readFileSync(path)), path);
    }
  });

  test('outcomes from how a child ended', () => {
    const info = { t: 'case', name: 'x', expect: 'any', codes: ['ERR_INVALID_ARGUMENT'] };
    const done = (extra) => ({ t: 'done', lastPhase: 'generate', ...extra });
    const run = (over) => classify({ code: 0, signal: null, timedOut: false, exitTimedOut: false, markers: [info], stderr: '', ...over });
    const abort = run({ code: null, signal: 'SIGABRT', stderr: 'x/deps/llama.cpp/ggml/src/ggml.c:12: GGML_ASSERT(a == b) failed\n' });
    assert.equal(abort.outcome, 'crash');
    assert.match(abort.reason, /SIGABRT: llama\.cpp\/ggml\/src\/ggml\.c:12: GGML_ASSERT\(a == b\) failed/);
    assert.equal(run({ timedOut: true, signal: 'SIGKILL' }).outcome, 'hang');
    assert.equal(run({ code: 13 }).outcome, 'hang');
    assert.equal(run({ code: 1, markers: [info, done({ settled: 'resolve' })] }).outcome, 'crash');
    const err = (e) => done({ settled: 'reject', error: e });
    assert.equal(run({ markers: [info, err({ smolvlm: false, name: 'TypeError', message: 'x' })] }).outcome, 'untyped');
    assert.equal(run({ markers: [info, err({ smolvlm: true, code: 'ERR_INTERNAL', message: 'x' })] }).outcome, 'untyped');
    assert.equal(run({ markers: [info, err({ smolvlm: true, code: 'ERR_INVALID_ARGUMENT', message: 'x' })] }).outcome, 'typed');
    assert.equal(run({ markers: [info, err({ smolvlm: true, code: 'ERR_OUT_OF_MEMORY', message: 'x' })] }).outcome, 'wrong');
    assert.equal(run({ markers: [{ ...info, expect: 'reject' }, done({ settled: 'resolve' })] }).outcome, 'wrong');
    assert.equal(run({ markers: [info, done({ settled: 'reject', error: { smolvlm: true, code: 'ERR_INVALID_ARGUMENT' }, extra: { reached: 'x' } })] }).outcome, 'reached');
  });

  test('known outcomes, end to end through child processes', async () => {
    // two children at a time, 10 s each: eleven at once with 5 s did not start in time on a loaded
    // machine ('(not generated): hang' for every case)
    const cases = SELFTESTS.map((_, index) => ({ cls: 'selftest', seed: 1, index }));
    const results = await runCases(cases, { jobs: 2, timeoutMs: 10_000, exitGraceMs: 2000, fixtures: {} });
    assert.deepEqual(results.map((r) => `${r.name}: ${r.outcome}`), SELFTESTS.map(([name, outcome]) => `${name}: ${outcome}`));
  });

  test('the gguf control (the fixture rewritten, unmutated) loads and generates', async () => {
    const { model, mmproj } = await ensureFixture({ size: 'tiny' });
    const r = await runCase({ cls: 'gguf', seed: 1, index: 0, timeoutMs: 120_000, fixtures: { model, mmproj } });
    assert.equal(r.outcome, 'success', `${r.reason}\n${r.stderrTail}`);
  });
});

test('fuzz: 250 cases over every class, seed 1: no crash, hang, untyped error, loopback reached or wrong outcome',
  { timeout: 10 * 60_000 }, async () => {
    const report = await fuzz({ total: 250, seeds: [1], jobs: 2, strict: true });
    const summary = `\n${formatTable(report.counts)}\n`;
    assert.equal(report.cases, 250, summary);
    assert.deepEqual(report.failures.map((f) => `${f.id} ${f.outcome} in ${f.phase}: ${f.name} -- ${f.reason}`), [], summary);
  });
