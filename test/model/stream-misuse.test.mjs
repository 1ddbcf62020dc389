// stream() misused as the scripts did, each in a child process that must exit by itself
// (no "unsettled top-level await", no unhandled rejection): an early `break` aborts the generation
// and frees its slot; a second iterator is refused at once while the first reads everything; a
// failure nobody observes leaves nothing pending. The child's own output says what it saw.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, test } from 'node:test';
import { ensureFixture, root } from '../helpers.mjs';

const helpers = pathToFileURL(join(root, 'test', 'helpers.mjs')).href;
const LIMIT_MS = 120_000; // a child that has not exited by then waits forever: the test fails

before(() => ensureFixture({ size: 'tiny' }));

/** Runs an ES module script in a fresh node; resolves with its exit code, stdout lines (JSON) and stderr. */
function child(body) {
  const script = `import { loadTiny, userMessage } from ${JSON.stringify(helpers)};\n${body}`;
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`the script did not exit within ${LIMIT_MS} ms (something waits forever)\nstdout: ${out}\nstderr: ${err}`));
    }, LIMIT_MS);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, lines: out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)), stderr: err });
    });
  });
}

function exitedCleanly(r) {
  assert.doesNotMatch(r.stderr, /unsettled top-level await|Unhandled|unhandled/i, r.stderr);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.code, 0, r.stderr);
}

test('break out of for-await aborts the generation and frees its slot', async () => {
  const r = await child(`
    const vlm = await loadTiny({ parallel: 1 });
    const s = vlm.stream({ prompt: 'Count from one to five hundred:', maxTokens: 2000, ignoreEos: true });
    let chunks = 0;
    for await (const c of s) { chunks++; break; }
    const err = await s.result.catch((e) => e);
    console.log(JSON.stringify({ chunks, code: err.code, finish: err.result?.finishReason, completion: err.result?.usage.completionTokens }));
    // with one slot, this runs only if the aborted generation gave its slot back
    const next = await vlm.generate({ prompt: 'Hello', maxTokens: 3, ignoreEos: true });
    console.log(JSON.stringify({ next: next.usage.completionTokens }));
    // no dispose: the script just ends
  `);
  exitedCleanly(r);
  const [first, second] = r.lines;
  assert.equal(first.chunks, 1);
  assert.equal(first.code, 'ERR_ABORTED');
  assert.equal(first.finish, 'abort');
  assert.ok(first.completion < 2000, `stopped early (${first.completion} tokens)`);
  assert.equal(second.next, 3);
});

test('a second iterator over one stream gets a typed error at once; the first reads everything', async () => {
  const r = await child(`
    const vlm = await loadTiny();
    const s = vlm.stream({ prompt: 'Tell me a story:', maxTokens: 24, ignoreEos: true });
    const first = (async () => { let text = ''; for await (const c of s) text += c.text; return text; })();
    const second = (async () => { try { for await (const c of s) return 'a chunk'; return 'nothing'; } catch (e) { return e.code + ': ' + e.message; } })();
    const secondSaw = await second;
    const text = await first;
    const result = await s.result;
    console.log(JSON.stringify({ secondSaw, same: text === result.text, completion: result.usage.completionTokens }));
    // after the end too
    let again;
    try { for await (const c of s) again = 'a chunk'; again ??= 'nothing'; } catch (e) { again = e.code; }
    console.log(JSON.stringify({ again }));
    await vlm.dispose();
  `);
  exitedCleanly(r);
  assert.match(r.lines[0].secondSaw, /^ERR_INVALID_ARGUMENT: a generation stream can be iterated once/);
  assert.equal(r.lines[0].same, true);
  assert.equal(r.lines[0].completion, 24);
  assert.equal(r.lines[1].again, 'ERR_INVALID_ARGUMENT');
});

test('failures nobody observes leave nothing pending and no unhandled rejection', async () => {
  const r = await child(`
    const vlm = await loadTiny();
    vlm.stream({ messages: userMessage('/nonexistent/picture.png', 'hi') }); // never read
    vlm.stream({ prompt: 'x', maxTokens: -1 }); // never read
    vlm.stream({ prompt: 'Hi', maxTokens: 5, signal: AbortSignal.abort() }); // never read
    const iterated = vlm.stream({ messages: userMessage('/nonexistent/picture.png', 'hi') });
    let code;
    try { for await (const c of iterated) {} } catch (e) { code = e.code; } // its result is never awaited
    const ok = await vlm.generate({ prompt: 'Hi', maxTokens: 2, ignoreEos: true });
    console.log(JSON.stringify({ code, ok: ok.usage.completionTokens }));
  `);
  exitedCleanly(r);
  assert.deepEqual(r.lines[0], { code: 'ERR_IMAGE_INVALID', ok: 2 });
});

test('signal: {} is refused before anything starts', async () => {
  const r = await child(`
    const vlm = await loadTiny();
    const errs = [];
    for (const run of [() => vlm.generate({ prompt: 'Hi', signal: {} }), () => vlm.stream({ prompt: 'Hi', signal: {} }).result, () => vlm.countTokens({ prompt: 'Hi', signal: {} })]) {
      errs.push(await run().then(() => 'resolved', (e) => e.code + ': ' + e.message));
    }
    console.log(JSON.stringify({ errs }));
    await vlm.dispose();
  `);
  exitedCleanly(r);
  for (const e of r.lines[0].errs) assert.equal(e, 'ERR_INVALID_ARGUMENT: signal must be an AbortSignal');
});
