// Load: 8 concurrent clients all get their own correct answer; past the model's slots plus
// max-queue a request gets 429 with Retry-After; a client that goes away (stream or not) aborts
// its generation and frees its place for the next request at once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureTestImages, loadTiny, userMessage } from '../helpers.mjs';
import { assertSameAnswers, withPieces } from '../same-greedy.mjs';
import { client, dataUrl, greedyOfCompletion, greedyOfStream, imageMessage, listen, metrics, post, sample, until } from '../server-helpers.mjs';

let vlm, images, model;
before(async () => {
  images = await ensureTestImages();
  vlm = await loadTiny({ parallel: 4 });
  model = vlm.info.name;
});
after(() => vlm?.dispose());

/** Admitted requests (in a slot or queued), from /metrics. */
async function admitted(url) {
  const m = await metrics(url);
  return sample(m, 'smolvlm_slots_busy') + sample(m, 'smolvlm_queue_depth');
}

test('8 concurrent clients get the answers they get one at a time', async (t) => {
  const s = await listen(vlm, { maxQueue: 4 });
  try {
    const pictures = [images.square, images.landscape, images.portrait, null];
    const requests = Array.from({ length: 8 }, (_, i) => ({ image: pictures[i % 4], text: ['Describe this image.', 'What is in the picture?'][i >> 2] }));
    const expected = [];
    for (const r of requests) expected.push(await withPieces(vlm, await vlm.generate({ messages: userMessage(r.image, r.text), maxTokens: 8, tokens: true, logprobs: true })));
    assert.ok(new Set(expected.map((e) => e.text)).size >= 6, 'precondition: the requests have different answers');
    const openai = client(s.url);
    const got = await Promise.all(
      requests.map((r, i) => {
        const body = { model, messages: r.image ? imageMessage(dataUrl(r.image), r.text) : [{ role: 'user', content: r.text }], max_tokens: 8, temperature: 0, logprobs: true };
        return i % 2 === 0 ? openai.chat.completions.create(body).then(greedyOfCompletion) : openai.chat.completions.create({ ...body, stream: true }).then(greedyOfStream);
      }),
    );
    // token for token, up to a floating-point near-tie (test/same-greedy.mjs)
    assertSameAnswers(t, got, expected, (i) => `client ${i + 1}`);
  } finally {
    await s.close();
  }
});

test('beyond slots + max-queue: 429 with Retry-After; aborted clients free their places', async () => {
  const s = await listen(vlm, { maxQueue: 4, metrics: true });
  try {
    const openai = client(s.url);
    const holders = [];
    for (let i = 0; i < 8; i++) {
      const ac = new AbortController();
      const p = openai.chat.completions
        .create({ model, messages: [{ role: 'user', content: `Write a long story number ${i}.` }], max_tokens: 900, temperature: 0, stream: true }, { signal: ac.signal })
        .then(async (st) => {
          for await (const _ of st);
        })
        .catch((e) => e);
      holders.push({ ac, p });
    }
    await until(async () => (await admitted(s.url)) === 8, '8 admitted requests');
    const m = await metrics(s.url);
    assert.equal(sample(m, 'smolvlm_slots_busy'), 4);
    assert.equal(sample(m, 'smolvlm_queue_depth'), 4);
    const ninth = await post(s.url, '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 });
    assert.equal(ninth.status, 429);
    assert.equal(ninth.json.error.code, 'queue_full');
    assert.equal(ninth.json.error.type, 'rate_limit_error');
    assert.ok(Number(ninth.headers.get('retry-after')) >= 1);
    await assert.rejects(openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }), (e) => e.status === 429);
    for (const h of holders) h.ac.abort();
    await Promise.all(holders.map((h) => h.p));
    await until(async () => (await admitted(s.url)) === 0, 'the aborted requests to leave');
    const next = await post(s.url, '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, temperature: 0 });
    assert.equal(next.status, 200, next.text);
    const after = await metrics(s.url);
    assert.equal(sample(after, 'smolvlm_http_requests_total', { route: '/v1/chat/completions', status: '429' }), 2);
    assert.equal(sample(after, 'smolvlm_http_requests_total', { route: '/v1/chat/completions', status: '499' }), 8);
    assert.ok(sample(after, 'smolvlm_completion_tokens_total') < 8 * 900, 'the aborted generations stopped early');
  } finally {
    await s.close();
  }
});

test('a client closing a stream mid-generation frees the slot: the next request is served at once', async () => {
  const one = await loadTiny({ parallel: 1 });
  const s = await listen(one, { maxQueue: 0, metrics: true });
  try {
    const openai = client(s.url);
    const ac = new AbortController();
    const st = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Write a long story.' }], max_tokens: 900, temperature: 0, stream: true }, { signal: ac.signal });
    let chunks = 0;
    try {
      for await (const c of st) {
        if (c.choices[0]?.delta?.content) chunks++;
        if (chunks === 2) ac.abort(); // the client ends the stream (openai's iterator just stops)
      }
    } catch (e) {
      assert.equal(e.name, 'AbortError');
    }
    assert.equal(chunks, 2);
    await until(async () => (await admitted(s.url)) === 0, 'the closed stream to leave');
    // with one slot and no queue, a held slot would make this a 429
    const next = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3, temperature: 0 });
    assert.equal(next.usage.completion_tokens, 3);
    // a non-streaming client that goes away aborts too
    const gone = new AbortController();
    const p = fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Another long story.' }], max_tokens: 900, temperature: 0 }),
      signal: gone.signal,
    }).catch((e) => e);
    await until(async () => sample(await metrics(s.url), 'smolvlm_slots_busy') === 1, 'the request to take the slot');
    gone.abort();
    await p;
    await until(async () => (await admitted(s.url)) === 0, 'the closed request to leave');
    const again = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3, temperature: 0 });
    assert.equal(again.usage.completion_tokens, 3);
    const m = await metrics(s.url);
    assert.ok(sample(m, 'smolvlm_completion_tokens_total') < 900, 'both aborted generations stopped early');
  } finally {
    await s.close();
    await one.dispose();
  }
});

test('max_tokens defaults to, and is capped at, a request\'s share of the context; past the timeout: 504', async () => {
  const small = await loadTiny({ contextSize: 64, parallel: 2 }); // llama.cpp rounds the context up
  const s = await listen(small);
  try {
    const share = Math.floor(small.info.contextSize / small.info.parallel);
    for (const extra of [{}, { max_tokens: 1000 }]) {
      const r = await post(s.url, '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'Hi' }], temperature: 0, ignore_eos: true, ...extra });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.usage.completion_tokens, share, JSON.stringify(extra));
      assert.equal(r.json.choices[0].finish_reason, 'length');
    }
  } finally {
    await s.close();
    await small.dispose();
  }
  const slow = await listen(vlm, { timeoutMs: 300 });
  try {
    const r = await post(slow.url, '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'A long story.' }], max_tokens: 900, temperature: 0, ignore_eos: true });
    assert.equal(r.status, 504, r.text);
    assert.equal(r.json.error.code, 'timeout');
  } finally {
    await slow.close();
  }
});
