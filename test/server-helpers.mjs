// Helpers of the server tests: a listening server over the tiny fixture, the official openai
// client pointed at it, data: URLs, metrics parsing.
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { createServer } from '../dist/index.js';

/** Starts `createServer(model, options)` on 127.0.0.1, a free port. */
export async function listen(model, options = {}) {
  const app = await createServer(model, options);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${app.server.address().port}`;
  return { app, url, close: () => app.close() };
}

/** The openai client for a server (no retries: a 429 must surface). */
export function client(url, apiKey = 'none', options = {}) {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0, timeout: 600_000, ...options });
}

export function dataUrl(path, type = 'image/png') {
  return `data:${type};base64,${readFileSync(path).toString('base64')}`;
}

/** An OpenAI chat message with an image (data: or http URL) and a question. */
export function imageMessage(url, text) {
  return [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }, { type: 'text', text }] }];
}

/** GET /metrics, parsed as Prometheus text: name -> family. */
export async function metrics(url, headers = {}) {
  const res = await fetch(`${url}/metrics`, { headers });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const families = parsePrometheusTextFormat(await res.text());
  return Object.fromEntries(families.map((f) => [f.name, f]));
}

/** The value of a counter or gauge sample (the first whose labels include `labels`). */
export function sample(families, name, labels = {}) {
  const f = families[name];
  if (!f) return undefined;
  const m = f.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m === undefined ? undefined : Number(m.value);
}

/** Polls `fn` until it returns a truthy value (behaviour, not timing: the bound is generous). */
export async function until(fn, what, timeoutMs = 120_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** POSTs JSON with fetch (for what the openai client would not send). */
export async function post(url, path, body, headers = {}) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** A chat completion sent with `logprobs: true`, as test/same-greedy.mjs compares answers. */
export function greedyOfCompletion(r) {
  const content = r.choices[0].logprobs?.content;
  if (!Array.isArray(content)) throw new TypeError('the completion has no logprobs.content (send logprobs: true)');
  return { text: r.choices[0].message.content, tokens: content.map((c) => c.token), logprobs: content.map((c) => c.logprob), finishReason: r.choices[0].finish_reason };
}

/** The same from a chat completion stream sent with `logprobs: true`. */
export async function greedyOfStream(stream) {
  const g = { text: '', tokens: [], logprobs: [], finishReason: undefined };
  for await (const c of stream) {
    const choice = c.choices[0];
    if (!choice) continue;
    if ((choice.delta?.content ?? '') !== '' && !Array.isArray(choice.logprobs?.content)) throw new TypeError('a stream chunk with text has no logprobs.content (send logprobs: true)');
    g.text += choice.delta?.content ?? '';
    for (const e of choice.logprobs?.content ?? []) g.tokens.push(e.token), g.logprobs.push(e.logprob);
    if (choice.finish_reason) g.finishReason = choice.finish_reason;
  }
  return g;
}
