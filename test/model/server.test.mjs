// The OpenAI-compatible server through the official openai client: chat completions with a base64
// image equal vlm.generate() token for token (whole and streamed), raw completions, models,
// health during load, metrics, and a clear 400 for every unsupported or wrongly typed field.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { ensureTestImages, loadTiny, userMessage } from '../helpers.mjs';
import { client, dataUrl, imageMessage, listen, metrics, post, sample } from '../server-helpers.mjs';

let vlm, images, server, openai, model;
before(async () => {
  images = await ensureTestImages();
  // promptCache off: a request that reuses a cached prefix evaluates its last prompt token in a
  // batch of its own, so its logprobs differ from a cold run's in the last float bits; the
  // equality below compares the server with the library under the very same computation
  vlm = await loadTiny({ parallel: 2, promptCache: false });
  server = await listen(vlm, { metrics: true });
  openai = client(server.url);
  model = vlm.info.name;
});
after(async () => {
  await server?.close();
  await vlm?.dispose();
});

const QUESTION = 'Describe this image.';

test('chat completion with a base64 image equals vlm.generate(), token for token', async () => {
  const direct = await vlm.generate({ messages: userMessage(images.square, QUESTION), maxTokens: 12, tokens: true, logprobs: true });
  const r = await openai.chat.completions.create({
    model,
    messages: imageMessage(dataUrl(images.square), QUESTION),
    max_tokens: 12,
    temperature: 0,
    logprobs: true,
  });
  assert.equal(r.object, 'chat.completion');
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.model, model);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, direct.text);
  assert.equal(r.choices[0].finish_reason, direct.finishReason);
  const pieces = await Promise.all(direct.tokens.map((t) => vlm.detokenize([t])));
  assert.deepEqual(r.choices[0].logprobs.content.map((c) => c.token), pieces);
  r.choices[0].logprobs.content.forEach((c, i) => {
    assert.ok(Math.abs(c.logprob - direct.logprobs[i]) < 1e-6, `token ${i} logprob`);
    assert.deepEqual(c.top_logprobs, []);
  });
  assert.deepEqual(r.usage, {
    prompt_tokens: direct.usage.promptTokens,
    completion_tokens: direct.usage.completionTokens,
    total_tokens: direct.usage.totalTokens,
    prompt_tokens_details: { image_tokens: direct.usage.imageTokens, cached_tokens: direct.usage.cachedTokens },
  });
  assert.ok(direct.usage.imageTokens > 0);
});

test('streamed deltas concatenate to the same text; usage comes last with include_usage', async () => {
  const direct = await vlm.generate({ messages: userMessage(images.landscape, QUESTION), maxTokens: 10 });
  const stream = await openai.chat.completions.create({
    model,
    messages: imageMessage(dataUrl(images.landscape), QUESTION),
    max_tokens: 10,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id));
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  assert.equal(text, direct.text);
  const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
  assert.equal(finish.length, 1);
  assert.equal(finish[0].choices[0].finish_reason, direct.finishReason);
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage.prompt_tokens, direct.usage.promptTokens);
  assert.equal(last.usage.completion_tokens, direct.usage.completionTokens);
  assert.equal(last.usage.total_tokens, direct.usage.totalTokens);
  assert.deepEqual(last.usage.prompt_tokens_details, { image_tokens: direct.usage.imageTokens, cached_tokens: 0 });
  assert.ok(chunks.slice(0, -1).every((c) => c.usage === null));
});

test('usage.prompt_tokens_details.cached_tokens reports the prefix a request reused (promptCache on), whole and streamed', async () => {
  // one slot, so the second request meets the first one's cache
  const cached = await loadTiny({ parallel: 1, promptCache: true });
  const s = await listen(cached);
  try {
    const c = client(s.url);
    const ask = (question, extra = {}) =>
      c.chat.completions.create({ model: cached.info.name, messages: imageMessage(dataUrl(images.square), question), max_tokens: 4, temperature: 0, ...extra });
    const first = await ask(QUESTION);
    assert.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
    // same image, another question: the template's head and the whole image are reused
    const second = await ask('What colour dominates?');
    const reused = second.usage.prompt_tokens_details.cached_tokens;
    assert.ok(reused >= second.usage.prompt_tokens_details.image_tokens, `cached ${reused} of ${second.usage.prompt_tokens} (image ${second.usage.prompt_tokens_details.image_tokens})`);
    assert.ok(reused < second.usage.prompt_tokens);
    // the same request again, streamed: it reuses more (all of the prompt it may); the library
    // reports the same count for the same request on the same cache state
    const stream = await ask('What colour dominates?', { stream: true, stream_options: { include_usage: true } });
    let last;
    for await (const chunk of stream) last = chunk;
    const again = last.usage.prompt_tokens_details.cached_tokens;
    assert.ok(again > reused, `streamed repeat reused ${again}, the first ${reused}`);
    const direct = await cached.generate({ messages: userMessage(images.square, 'What colour dominates?'), maxTokens: 4 });
    assert.equal(direct.usage.cachedTokens, again);
    assert.equal(direct.usage.promptTokens, last.usage.prompt_tokens);
  } finally {
    await s.close();
    await cached.dispose();
  }
});

test('the raw SSE stream ends with data: [DONE]', async () => {
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3, temperature: 0, stream: true }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  const events = (await res.text()).split('\n\n').filter(Boolean);
  assert.equal(events.at(-1), 'data: [DONE]');
  for (const e of events.slice(0, -1)) assert.doesNotThrow(() => JSON.parse(e.replace(/^data: /, '')));
});

test('sampling: seed, temperature and stop map to the library', async () => {
  const messages = [{ role: 'user', content: 'Tell me a story.' }];
  const direct = await vlm.generate({ messages: userMessage(null, 'Tell me a story.'), maxTokens: 8, temperature: 0.8, topP: 0.9, seed: 42 });
  const r = await openai.chat.completions.create({ model, messages, max_completion_tokens: 8, temperature: 0.8, top_p: 0.9, seed: 42 });
  assert.equal(r.choices[0].message.content, direct.text);
  const greedy = await vlm.generate({ messages: userMessage(null, 'Tell me a story.'), maxTokens: 8 });
  const cut = greedy.text.slice(3, 6);
  assert.ok(cut.length > 0);
  const stopped = await openai.chat.completions.create({ model, messages, max_tokens: 8, temperature: 0, stop: cut });
  assert.equal(stopped.choices[0].message.content, greedy.text.slice(0, greedy.text.indexOf(cut)));
  assert.equal(stopped.choices[0].finish_reason, 'stop');
});

test('raw completions equal vlm.generate({ prompt })', async () => {
  const prompt = 'The capital of France is';
  const direct = await vlm.generate({ prompt, maxTokens: 6 });
  const r = await openai.completions.create({ model, prompt, max_tokens: 6, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices[0].text, direct.text);
  assert.equal(r.usage.completion_tokens, direct.usage.completionTokens);
  const stream = await openai.completions.create({ model, prompt, max_tokens: 6, temperature: 0, stream: true });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.text ?? '';
  assert.equal(text, direct.text);
});

test('/v1/models lists the model with its input modalities; unknown models are 404', async () => {
  const list = await openai.models.list();
  assert.equal(list.data.length, 1);
  assert.equal(list.data[0].id, model);
  assert.deepEqual(list.data[0].input_modalities, ['text', 'image']);
  assert.equal(list.data[0].context_length, vlm.info.contextSize);
  const one = await openai.models.retrieve(model);
  assert.equal(one.id, model);
  await assert.rejects(openai.models.retrieve('gpt-4o'), (e) => e.status === 404);
  await assert.rejects(
    openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }),
    (e) => e.status === 404 && e.code === 'model_not_found' && e.type === 'not_found_error',
  );
});

test('unsupported values and wrong types are 400 in OpenAI\'s error shape; unknown fields are ignored', async () => {
  const base = { model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, temperature: 0 };
  const cases = [
    [{ n: 2 }, 'n'],
    [{ frequency_penalty: 0.5 }, 'frequency_penalty'],
    [{ presence_penalty: -1 }, 'presence_penalty'],
    [{ top_logprobs: 2, logprobs: true }, 'top_logprobs'],
    [{ response_format: { type: 'xml' } }, 'response_format'],
    [{ response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, 'response_format.json_schema.schema'],
    [{ response_format: { type: 'json_object' }, stop: ['}'] }, 'stop'],
    [{ response_format: { type: 'json_object' }, ignore_eos: true }, 'ignore_eos'],
    [{ tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools'],
    [{ max_tokens: '5' }, 'max_tokens'],
    [{ temperature: 'hot' }, 'temperature'],
    [{ temperature: 3 }, 'temperature'],
    [{ stream: 'yes' }, 'stream'],
    [{ stop: [1, 2] }, 'stop[0]'],
    [{ seed: 1.5 }, 'seed'],
    [{ messages: 'Hi' }, 'messages'],
    [{ messages: [] }, 'messages'],
    [{ messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].role'],
    [{ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] }, 'messages[0].content[0].type'],
    [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: '/etc/passwd' } }] }] }, 'messages[0].content[0].image_url'],
    [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'file:///etc/passwd' } }] }] }, 'messages[0].content[0].image_url'],
  ];
  for (const [extra, param] of cases) {
    const r = await post(server.url, '/v1/chat/completions', { ...base, ...extra });
    assert.equal(r.status, 400, `${JSON.stringify(extra)}: ${r.text}`);
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.equal(r.json.error.param, param, JSON.stringify(extra));
    assert.equal(typeof r.json.error.message, 'string');
  }
  const bad = await post(server.url, '/v1/chat/completions', '{"messages": [');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'invalid_json');
  const ok = await post(server.url, '/v1/chat/completions', { ...base, some_future_field: { a: 1 }, user: 'u', store: false, frequency_penalty: 0, n: 1, response_format: { type: 'text' } });
  assert.equal(ok.status, 200, ok.text);
  const r = await post(server.url, '/v1/completions', { model, prompt: 'Hi', logprobs: 3 });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.param, 'logprobs');
});

test('response_format json_object and json_schema constrain the answer to JSON (the schema\'s, for json_schema)', async () => {
  const base = { model, messages: [{ role: 'user', content: 'Give me a JSON object.' }], max_tokens: 300, temperature: 0 };
  // any object: the babbling fixture fills its free keys until max_tokens, but it starts as one
  const object = await openai.chat.completions.create({ ...base, max_tokens: 6, response_format: { type: 'json_object' } });
  assert.match(object.choices[0].message.content, /^\{\s*("|\}$)/);
  const free = await openai.chat.completions.create({ ...base, max_tokens: 6 });
  assert.doesNotMatch(free.choices[0].message.content, /^\{/, 'precondition: unconstrained, the fixture does not write JSON');
  const schema = { type: 'object', properties: { color: { enum: ['red', 'green'] }, n: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['color', 'n'], additionalProperties: false };
  const r = await openai.chat.completions.create({ ...base, response_format: { type: 'json_schema', json_schema: { name: 'pick', schema, strict: true } } });
  const json = JSON.parse(r.choices[0].message.content);
  assert.deepEqual(Object.keys(json).sort(), ['color', 'n']);
  assert.ok(['red', 'green'].includes(json.color) && Number.isInteger(json.n) && json.n >= 0 && json.n <= 9, JSON.stringify(json));
  const bad = await post(server.url, '/v1/chat/completions', { ...base, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { $ref: '#/$defs/none' } } } });
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.json.error.message, /jsonSchema is not supported/);
});

test('library errors map to 400: an undecodable image, a prompt over the context', async () => {
  const garbage = `data:image/png;base64,${Buffer.from('not a png at all').toString('base64')}`;
  const r = await post(server.url, '/v1/chat/completions', { model, messages: imageMessage(garbage, 'What?'), max_tokens: 2 });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error.code, 'ERR_IMAGE_INVALID');
  const long = 'word '.repeat(6000);
  const s = await post(server.url, '/v1/chat/completions', { model, messages: [{ role: 'user', content: long }], max_tokens: 2, stream: true });
  assert.equal(s.status, 400, s.text); // a stream that fails before its first token gets a status
  assert.equal(s.json.error.code, 'context_length_exceeded');
});

test('/metrics parses as Prometheus text and counts requests, tokens and latency', async () => {
  const before = await metrics(server.url);
  const t0 = performance.now();
  const r = await openai.chat.completions.create({ model, messages: imageMessage(dataUrl(images.portrait), QUESTION), max_tokens: 4, temperature: 0 });
  const firstDuration = (performance.now() - t0) / 1000;
  const mid = await metrics(server.url);
  await openai.chat.completions.create({ model, messages: imageMessage(dataUrl(images.portrait), QUESTION), max_tokens: 4, temperature: 0 });
  const m = await metrics(server.url);
  const route = { route: '/v1/chat/completions', status: '200' };
  assert.equal(sample(m, 'smolvlm_http_requests_total', route) - (sample(before, 'smolvlm_http_requests_total', route) ?? 0), 2);
  assert.equal(sample(m, 'smolvlm_completion_tokens_total') - sample(before, 'smolvlm_completion_tokens_total'), 2 * r.usage.completion_tokens);
  assert.equal(sample(m, 'smolvlm_prompt_tokens_total') - sample(before, 'smolvlm_prompt_tokens_total'), 2 * r.usage.prompt_tokens);
  assert.ok(sample(m, 'smolvlm_image_tokens_total') - sample(before, 'smolvlm_image_tokens_total') > 0);
  assert.ok(sample(m, 'smolvlm_image_cache_hits_total') > sample(before, 'smolvlm_image_cache_hits_total'), 'the second request hit the image cache');
  // the encoder's busy time counts when an image was encoded (the first request: a picture no
  // other test sends), and only then (the second: served by the image cache)
  const delta = (a, b, name) => sample(b, name) - sample(a, name);
  assert.equal(m.smolvlm_image_encode_seconds_total.type, 'COUNTER');
  assert.ok(delta(before, mid, 'smolvlm_image_cache_misses_total') > 0, 'the first request encoded its image');
  const firstEncode = delta(before, mid, 'smolvlm_image_encode_seconds_total');
  assert.ok(firstEncode > 0 && firstEncode < firstDuration, `encoded in ${firstEncode} s of a ${firstDuration} s request`);
  assert.equal(delta(mid, m, 'smolvlm_image_cache_misses_total'), 0);
  assert.equal(delta(mid, m, 'smolvlm_image_encode_seconds_total'), 0);
  assert.equal(m.smolvlm_time_to_first_token_seconds.type, 'HISTOGRAM');
  assert.equal(m.smolvlm_request_duration_seconds.type, 'HISTOGRAM');
  assert.equal(sample(m, 'smolvlm_slots'), 2);
  assert.equal(sample(m, 'smolvlm_slots_busy'), 0);
  assert.equal(sample(m, 'smolvlm_queue_depth'), 0);
  assert.ok(m.process_resident_memory_bytes);
  // prom-client's event-loop gauges are still served with the monitor's 100 ms resolution
  for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds']) assert.ok(Number.isFinite(sample(m, name)), name);
});

test('/health is 503 while the model loads and 200 once it is ready; generation waits with 503', async () => {
  let release;
  const gate = new Promise((r) => (release = r));
  const loading = gate.then(() => loadTiny());
  const s = await listen(loading);
  try {
    const h = await fetch(`${s.url}/health`);
    assert.equal(h.status, 503);
    assert.deepEqual(await h.json(), { status: 'loading' });
    const g = await post(s.url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 });
    assert.equal(g.status, 503);
    assert.equal(g.json.error.code, 'model_loading');
    assert.ok(g.headers.get('retry-after'));
    release();
    const m = await loading;
    await new Promise((r) => setImmediate(r));
    const ready = await fetch(`${s.url}/health`);
    assert.equal(ready.status, 200);
    assert.equal((await ready.json()).status, 'ok');
    const r = await post(s.url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, temperature: 0 });
    assert.equal(r.status, 200, r.text);
    await s.close();
    await m.dispose();
  } finally {
    await s.close();
  }
});

test('a failed load makes /health 503 with the error', async () => {
  const s = await listen(Promise.reject(Object.assign(new Error('no such file'), { code: 'ERR_MODEL_NOT_FOUND' })));
  try {
    const h = await fetch(`${s.url}/health`);
    assert.equal(h.status, 503);
    assert.deepEqual(await h.json(), { status: 'error', error: 'no such file' });
    const g = await post(s.url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(g.status, 503);
    assert.equal(g.json.error.code, 'model_load_failed');
  } finally {
    await s.close();
  }
});

test('a text-only load says so in /v1/models', async () => {
  const text = await loadTiny({ mmproj: undefined });
  const s = await listen(text, { modelId: 'tiny-text' });
  try {
    const list = await client(s.url).models.list();
    assert.deepEqual(list.data.map((d) => [d.id, d.input_modalities]), [['tiny-text', ['text']]]);
    const r = await post(s.url, '/v1/chat/completions', { model: 'tiny-text', messages: imageMessage(dataUrl(images.square), 'What?'), max_tokens: 2 });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'ERR_NO_VISION');
  } finally {
    await s.close();
    await text.dispose();
  }
});

test('data: URLs of a non-image type are refused before decoding', async () => {
  const r = await post(server.url, '/v1/chat/completions', {
    model,
    messages: imageMessage(`data:text/plain;base64,${Buffer.from('hi').toString('base64')}`, 'What?'),
  });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'invalid_image_url');
  assert.ok(readFileSync(images.square).length > 0);
});

test('smolvlmPlugin mounts the routes under a prefix in an existing app; its auth stays its own', async () => {
  const { default: Fastify } = await import('fastify');
  const { smolvlmPlugin } = await import('../../dist/index.js');
  const app = Fastify();
  app.get('/mine', async () => ({ mine: true }));
  app.post('/echo', async (request) => request.body);
  await app.register(smolvlmPlugin, { model: vlm, prefix: '/ai', apiKey: 'k', metrics: true });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${app.server.address().port}`;
  try {
    assert.deepEqual(await (await fetch(`${url}/mine`)).json(), { mine: true });
    assert.deepEqual(await (await fetch(`${url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":"5"}' })).json(), { a: '5' });
    assert.equal((await fetch(`${url}/ai/health`)).status, 200);
    assert.equal((await fetch(`${url}/ai/v1/models`)).status, 401);
    const r = await client(`${url}/ai`, 'k').chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, temperature: 0 });
    assert.equal(r.usage.completion_tokens, 2);
    const m = await metrics(`${url}/ai`, { authorization: 'Bearer k' });
    assert.equal(sample(m, 'smolvlm_http_requests_total', { route: '/ai/v1/chat/completions', status: '200' }), 1);
    assert.equal(m.smolvlm_request_duration_seconds.metrics[0].buckets['+Inf'], '1', 'the prefixed generation route is timed');
  } finally {
    await app.close();
  }
});

test("image_url.detail 'low' encodes the image as one tile, as tiling: false does", async () => {
  const url = dataUrl(images.landscape);
  const part = (detail) => [{ role: 'user', content: [{ type: 'image_url', image_url: { url, ...(detail ? { detail } : {}) } }, { type: 'text', text: 'What?' }] }];
  const [auto, low] = await Promise.all([undefined, 'low'].map((detail) => openai.chat.completions.create({ model, messages: part(detail), max_tokens: 1, temperature: 0 })));
  const direct = await vlm.generate({ messages: [{ role: 'user', content: [{ type: 'image', image: images.landscape, tiling: false }, { type: 'text', text: 'What?' }] }], maxTokens: 1 });
  assert.equal(low.usage.prompt_tokens_details.image_tokens, direct.usage.imageTokens);
  assert.ok(low.usage.prompt_tokens_details.image_tokens < auto.usage.prompt_tokens_details.image_tokens);
});
