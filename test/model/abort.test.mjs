// Abort: before start, during image prefill, during decode; the model serves the next request.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AbortError } from '../../dist/index.js';
import { ensureTestImages, loadTiny, userMessage } from '../helpers.mjs';

let vlm, images;
before(async () => {
  vlm = await loadTiny();
  images = await ensureTestImages();
});
after(() => vlm?.dispose());

async function stillServes() {
  const r = await vlm.generate({ messages: userMessage(images.square, 'Describe this image.'), maxTokens: 4 });
  assert.equal(r.usage.completionTokens, 4);
}

test('an already-aborted signal rejects at once', async () => {
  const err = await vlm.generate({ messages: userMessage(images.square, 'Hi'), signal: AbortSignal.abort() }).catch((e) => e);
  assert.ok(err instanceof AbortError);
  assert.equal(err.code, 'ERR_ABORTED');
  await stillServes();
});

test('abort during image prefill', async () => {
  // Many images make a long prefill. JS cannot see when native prefill starts, so try a few
  // delays; at least one abort must land inside it (prompt tokenized, nothing generated).
  const content = [];
  for (let i = 0; i < 12; i++) content.push({ type: 'image', image: images[['square', 'landscape', 'portrait'][i % 3]] });
  content.push({ type: 'text', text: 'Compare these.' });
  let inPrefill = 0;
  for (const delay of [1, 5, 10, 20, 40, 100, 200, 400]) {
    const ac = new AbortController();
    const p = vlm.generate({ messages: [{ role: 'user', content }], maxTokens: 50, signal: ac.signal });
    setTimeout(() => ac.abort(), delay);
    const err = await p.catch((e) => e);
    if (!(err instanceof Error)) break; // finished before this delay: later ones would too
    assert.ok(err instanceof AbortError, String(err));
    assert.equal(err.result.finishReason, 'abort');
    if (err.result.usage.promptTokens > 0 && err.result.usage.completionTokens === 0) inPrefill++;
    await stillServes();
  }
  assert.ok(inPrefill > 0, 'an abort landed during the image prefill');
});

test('abort during decode keeps the text so far', async () => {
  const ac = new AbortController();
  const s = vlm.stream({ messages: userMessage(images.square, 'Describe this image.'), maxTokens: 400, signal: ac.signal });
  let text = '';
  let err;
  try {
    for await (const c of s) {
      text += c.text;
      if (text.length > 10) ac.abort();
    }
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof AbortError);
  assert.ok(err.result.usage.completionTokens > 0 && err.result.usage.completionTokens < 400);
  assert.ok(err.result.text.startsWith(text.slice(0, 10)));
  await stillServes();
});

test('aborting one request leaves the others running', async () => {
  const par = await loadTiny({ parallel: 2 });
  try {
    const ac = new AbortController();
    const a = par.generate({ messages: userMessage(null, 'Tell a long story.'), maxTokens: 200, signal: ac.signal });
    const b = par.generate({ messages: userMessage(null, 'Tell another story.'), maxTokens: 30 });
    setTimeout(() => ac.abort(), 20);
    const [ra, rb] = await Promise.allSettled([a, b]);
    assert.equal(ra.status, 'rejected');
    assert.ok(ra.reason instanceof AbortError);
    assert.equal(rb.status, 'fulfilled');
    assert.equal(rb.value.usage.completionTokens, 30);
  } finally {
    await par.dispose();
  }
});

test('a queued request aborts at once, while another generates', async () => {
  const running = vlm.generate({ messages: userMessage(null, 'Tell a long story.'), maxTokens: 300 });
  const ac = new AbortController();
  const queued = vlm.generate({ messages: userMessage(images.square, 'Hi'), maxTokens: 4, signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  const err = await queued.catch((e) => e);
  assert.ok(err instanceof AbortError);
  let runningDone = false;
  running.then(() => (runningDone = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(runningDone, false, 'the queued request did not wait for the running one');
  assert.equal((await running).usage.completionTokens, 300);
});

test('a load can be aborted', async () => {
  const err = await loadTiny({ signal: AbortSignal.abort() }).catch((e) => e);
  assert.ok(err instanceof AbortError);
});
