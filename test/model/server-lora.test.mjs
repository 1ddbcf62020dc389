// Per-request LoRA adapters through the server (llama-server's `lora: [{ id, scale }]`): a request
// picks among the adapters the server was started with, by id or index; its answer equals
// vlm.generate() with the same selection (which test/reference/lora.test.mjs holds equal to llama-mtmd-cli);
// an adapter the server did not load is a 400 with a code, and adapters are never loaded per request.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureLora } from '../fixtures/lora.mjs';
import { ensureTestImages, loadTiny, userMessage } from '../helpers.mjs';
import { assertSameAnswers, assertToldApart, withPieces } from '../same-greedy.mjs';
import { client, dataUrl, greedyOfCompletion, imageMessage, listen, post } from '../server-helpers.mjs';

const QUESTION = 'Describe this image.';
const MAX_TOKENS = 16;

let vlm, images, lora, server, openai, model;
before(async () => {
  images = await ensureTestImages();
  lora = await ensureLora();
  vlm = await loadTiny({ lora: [{ path: lora.path, id: 'style' }], parallel: 2, promptCache: false });
  server = await listen(vlm);
  openai = client(server.url);
  model = vlm.info.name;
});
after(async () => {
  await server?.close();
  await vlm?.dispose();
});

const directResult = (selection) =>
  vlm.generate({ messages: userMessage(images.square, QUESTION), maxTokens: MAX_TOKENS, temperature: 0, tokens: true, logprobs: true, ...(selection ? { lora: selection } : {}) });
const direct = (selection) => directResult(selection).then((r) => r.text);
const servedCompletion = (extra = {}) =>
  openai.chat.completions.create({ model, messages: imageMessage(dataUrl(images.square), QUESTION), max_tokens: MAX_TOKENS, temperature: 0, ...extra });
const served = (extra = {}) => servedCompletion(extra).then((r) => r.choices[0].message.content);

test('a request picks the loaded adapter and its scale; the answer equals vlm.generate() with the same selection', async () => {
  const want = { full: await direct(), half: await direct([{ id: 'style', scale: 0.5 }]), base: await direct([]) };
  // three different answers, so the checks below cannot pass by ignoring the field
  assert.equal(new Set(Object.values(want)).size, 3, JSON.stringify(want));
  assert.equal(await served(), want.full, 'no lora field: every adapter at its load scale');
  assert.equal(await served({ lora: [{ id: 'style', scale: 0.5 }] }), want.half, 'by id');
  assert.equal(await served({ lora: [{ id: 0, scale: 0.5 }] }), want.half, 'by index, as llama-server numbers them');
  assert.equal(await served({ lora: [{ id: 'style' }] }), want.full, 'no scale: its load scale');
  assert.equal(await served({ lora: [] }), want.base, '[]: the base model');
  assert.equal(await served({ lora: [{ id: 0, scale: 0 }] }), want.base, 'scale 0: the base model');
});

test('streamed, and several sets at once on two slots: each request gets its own weights', async (t) => {
  const sets = [[{ id: 'style', scale: 0.5 }], [], undefined];
  const want = [];
  for (const set of sets) want.push(await withPieces(vlm, await directResult(set)));
  // precondition: the comparison below tells the three weight sets apart, near-ties allowed
  assertToldApart(want, (i) => `set ${i}`);
  const stream = await openai.chat.completions.create({
    model, messages: imageMessage(dataUrl(images.square), QUESTION), max_tokens: MAX_TOKENS, temperature: 0, stream: true, lora: sets[0],
  });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
  assert.equal(text, want[0].text);
  // all at once on two slots (the engine batches requests of one set together and runs different
  // sets one after another): token for token, up to a floating-point near-tie (test/same-greedy.mjs)
  const order = [0, 1, 2, 0, 1, 2];
  const got = await Promise.all(order.map((i) => servedCompletion({ logprobs: true, ...(sets[i] ? { lora: sets[i] } : {}) }).then(greedyOfCompletion)));
  assertSameAnswers(t, got, order.map((i) => want[i]), (k) => `request ${k} (set ${order[k]})`);
});

test('an adapter the server did not load is a 400 unknown_lora_adapter naming what is loaded; bad shapes are 400', async () => {
  const body = (l) => ({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, lora: l });
  for (const [l, param] of [[[{ id: 'nope' }], 'lora[0].id'], [[{ id: 'style' }, { id: 1 }], 'lora[1].id'], [[{ id: lora.path }], 'lora[0].id']]) {
    const r = await post(server.url, '/v1/chat/completions', body(l));
    assert.equal(r.status, 400, JSON.stringify(l));
    assert.equal(r.json.error.code, 'unknown_lora_adapter');
    assert.equal(r.json.error.param, param);
    assert.match(r.json.error.message, /0: 'style'/);
  }
  const twice = await post(server.url, '/v1/chat/completions', body([{ id: 'style' }, { id: 0 }]));
  assert.equal(twice.status, 400);
  assert.equal(twice.json.error.code, 'invalid_value');
  for (const l of ['style', [{ scale: 1 }], [{ id: -1 }], [{ id: 'style', scale: 'x' }], [{ id: 1.5 }]]) {
    const r = await post(server.url, '/v1/chat/completions', body(l));
    assert.equal(r.status, 400, JSON.stringify(l));
    assert.ok(r.json.error.code, JSON.stringify(r.json));
  }
  // raw completions take the same field
  const raw = await post(server.url, '/v1/completions', { model, prompt: 'Hi', max_tokens: 2, lora: [{ id: 'other' }] });
  assert.equal(raw.status, 400);
  assert.equal(raw.json.error.code, 'unknown_lora_adapter');
  // and the server still answers
  assert.equal(typeof (await served({ lora: [] })), 'string');
});

test('a server started without adapters refuses any lora id, saying so', async () => {
  const plain = await loadTiny();
  const s = await listen(plain);
  try {
    const r = await post(s.url, '/v1/chat/completions', { model: plain.info.name, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, lora: [{ id: 0 }] });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'unknown_lora_adapter');
    assert.match(r.json.error.message, /--lora/);
    const ok = await post(s.url, '/v1/chat/completions', { model: plain.info.name, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, lora: [] });
    assert.equal(ok.status, 200);
  } finally {
    await s.close();
    await plain.dispose();
  }
});
