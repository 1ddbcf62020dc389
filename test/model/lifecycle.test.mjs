// Lifecycle: dispose is async, idempotent, waits for work and cascades; processes exit cleanly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { DisposedError } from '../../dist/index.js';
import { ensureFixture, ensureTestImages, loadTiny, root, userMessage } from '../helpers.mjs';

test('dispose during generation ends it with DisposedError; dispose is idempotent', async () => {
  const vlm = await loadTiny();
  const images = await ensureTestImages();
  const s = vlm.stream({ messages: userMessage(images.square, 'Describe this image.'), maxTokens: 500 });
  let got = 0;
  const consumed = (async () => {
    for await (const _ of s) if (++got === 3) void vlm.dispose();
  })();
  const err = await consumed.catch((e) => e);
  assert.ok(err instanceof DisposedError, String(err));
  await Promise.all([vlm.dispose(), vlm.dispose()]);
  assert.equal(vlm.disposed, true);
  await assert.rejects(vlm.generate({ messages: userMessage(null, 'hi') }), DisposedError);
  assert.throws(() => vlm.formatPrompt(userMessage(null, 'hi')), DisposedError);
});

test('Symbol.asyncDispose disposes (await using)', async () => {
  const vlm = await loadTiny();
  assert.equal(vlm.disposed, false);
  await vlm[Symbol.asyncDispose]();
  assert.equal(vlm.disposed, true);
});

function runChild(code) {
  return spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8', timeout: 120_000 });
}

test('a process with a live model exits cleanly', async () => {
  const { model, mmproj } = await ensureFixture({ size: 'tiny' });
  const img = (await ensureTestImages()).square;
  const r = runChild(`
    import { loadModel } from './dist/index.js';
    const vlm = await loadModel({ model: ${JSON.stringify(model)}, mmproj: ${JSON.stringify(mmproj)}, threads: 2 });
    const out = await vlm.generate({ messages: [{ role: 'user', content: [{ type: 'image', image: ${JSON.stringify(img)} }, { type: 'text', text: 'Hi' }] }], maxTokens: 3 });
    console.log('generated', out.usage.completionTokens);
  `);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /generated 3/);
});

test('process.exit during generation exits cleanly', async () => {
  const { model, mmproj } = await ensureFixture({ size: 'tiny' });
  const r = runChild(`
    import { loadModel } from './dist/index.js';
    const vlm = await loadModel({ model: ${JSON.stringify(model)}, mmproj: ${JSON.stringify(mmproj)}, threads: 2 });
    let n = 0;
    for await (const c of vlm.stream({ messages: [{ role: 'user', content: 'Tell a long story.' }], maxTokens: 1000 })) {
      if (++n === 5) process.exit(7);
    }
  `);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 7, r.stderr);
});

test('an uncaught exception with a live model exits with code 1, no signal', async () => {
  const { model, mmproj } = await ensureFixture({ size: 'tiny' });
  const r = runChild(`
    import { loadModel } from './dist/index.js';
    const vlm = await loadModel({ model: ${JSON.stringify(model)}, mmproj: ${JSON.stringify(mmproj)}, threads: 2 });
    vlm.generate({ messages: [{ role: 'user', content: 'Tell a long story.' }], maxTokens: 1000 });
    setTimeout(() => { throw new Error('boom'); }, 50);
  `);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /boom/);
});

test('CommonJS consumers can require the package', () => {
  const r = spawnSync(process.execPath, ['-e', `const m = require('./'); console.log(typeof m.loadModel, typeof m.SmolVLMError)`], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'function function');
});

test('a worker thread with its own model comes and goes; the main thread model keeps working', async () => {
  const { Worker } = await import('node:worker_threads');
  const { model, mmproj } = await ensureFixture({ size: 'tiny' });
  const vlm = await loadTiny();
  try {
    const worker = new Worker(`
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)}).then(async ({ loadModel }) => {
        const m = await loadModel({ model: ${JSON.stringify(model)}, mmproj: ${JSON.stringify(mmproj)}, threads: 1 });
        const r = await m.generate({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 3 });
        parentPort.postMessage(r.usage.completionTokens);
        // exit with the model still loaded: the worker's cleanup must not touch the main thread's
      });
    `, { eval: true });
    const n = await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
    assert.equal(n, 3);
    await worker.terminate();
    const r = await vlm.generate({ messages: userMessage(null, 'still there?'), maxTokens: 3 });
    assert.equal(r.usage.completionTokens, 3);
    const again = await loadTiny();
    await again.dispose();
  } finally {
    await vlm.dispose();
  }
});
