#!/usr/bin/env node
// Benchmark: the HTTP server (`smolvlm serve` in a child process, the official openai client,
// streamed chat completions with a base64 image) against direct library calls (vlm.stream, in this
// process) at the same concurrency, on the same model and settings, interleaved: each round runs
// every concurrency on both sides, the side that goes first alternating, so that a shared
// machine's load changes hit both alike. Reports per concurrency and side: aggregate generated
// tokens/s (tokens over the summed wall time of the rounds), p50/p99 latency and time to first
// token over every request, errors, and RSS of the serving process (the server child for HTTP,
// this process for direct calls): after a warm-up request, highest, after each round and after
// the last (flat: no growth from round to round). Both sides run with the library's default
// caches (the image cache and the prompt cache on), as `smolvlm serve` does, and by default every
// request of a side sends a picture of its own, so every request encodes its image. The bench
// counts what the caches served (images whose KV cells a slot still held, tiles from the image
// cache), so a run shows it. --pictures N sends N pictures in turn; --pictures 1 one picture
// every time: the caches then serve nearly every image (the cached case).
//   node bench/server.mjs [--size 256m|tiny] [--concurrency 8,32] [--requests 2] [--rounds 2]
//                         [--tokens 48] [--parallel 8] [--threads N] [--detail auto|low]
//                         [--pictures N] [--json out.json]
// --detail low: the image as one tile (`image_url.detail: 'low'`, `tiling: false` directly).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { loadModel } from '../dist/index.js';
import { ensureFixture } from '../test/fixtures/synth.mjs';
import { benchPhotos } from './photo.mjs';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256m' },
    concurrency: { type: 'string', default: '8,32' },
    requests: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    tokens: { type: 'string', default: '48' },
    parallel: { type: 'string', default: '8' },
    threads: { type: 'string', default: String(availableParallelism()) },
    detail: { type: 'string', default: 'auto' },
    json: { type: 'string' },
    pictures: { type: 'string' },
    child: { type: 'boolean', default: false },
  },
});
const files = await ensureFixture({ size: values.size });
const load = { model: files.model, mmproj: files.mmproj, threads: Number(values.threads), contextSize: 8192 };

if (values.child) {
  // the server side: `smolvlm serve` as the CLI runs it
  const { serveCommand } = await import('../dist/server/command.js');
  // --metrics: the bench reads the image cache's counters from /metrics (off by default in
  // `smolvlm serve`; it costs the HTTP side a few counter updates per request)
  await serveCommand({ port: 0, parallel: values.parallel, maxQueue: 1024, metrics: true }, load);
  process.exit(0);
}

const levels = values.concurrency.split(',').map(Number);
const requests = Number(values.requests), rounds = Number(values.rounds), tokens = Number(values.tokens);
const low = values.detail === 'low';
const PROMPT = 'Describe this image in detail.';
// default: one picture per request of a side (the warm-up request included)
const pictureCount = values.pictures === undefined ? 1 + rounds * requests * levels.reduce((a, c) => a + c, 0) : Number(values.pictures);
if (!Number.isInteger(pictureCount) || pictureCount < 1) throw new RangeError(`--pictures must be a whole number of at least 1, not ${values.pictures}`);
const pictures = (await benchPhotos(pictureCount, 'server-bench')).map((path) => readFileSync(path));
const dataUrls = pictures.map((image) => `data:image/png;base64,${image.toString('base64')}`);
const sent = { http: 0, direct: 0 }; // each side's requests so far: request k sends picture k mod --pictures

function quantile(xs, q) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
}

/** Runs `concurrency` clients, each sending `requests` requests one after another. */
async function drive(concurrency, one, rss, tiles) {
  const lat = [], ttft = [];
  let generated = 0, errors = 0, rssMax = 0, promptReused = 0;
  const tiles0 = await tiles();
  const sampler = setInterval(async () => (rssMax = Math.max(rssMax, await rss())), 250);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = 0; i < requests; i++) {
        const start = performance.now();
        try {
          const r = await one(start);
          lat.push(performance.now() - start);
          ttft.push(r.ttft);
          generated += r.tokens;
          if (r.imageTokens > 0 && r.cached >= r.imageTokens) promptReused++; // the image's KV cells came from a slot
        } catch (err) {
          errors++;
          if (errors <= 3) console.error(`  error: ${err.message}`);
        }
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const rssEnd = await rss();
  const tiles1 = await tiles();
  return { lat, ttft, generated, errors, wall, rssMax: Math.max(rssMax, rssEnd), rssEnd, promptReused, tileHits: tiles1.hits - tiles0.hits, tileMisses: tiles1.misses - tiles0.misses };
}

// ---- HTTP: the server in a child process ----
const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', '--size', values.size, '--parallel', values.parallel, '--threads', values.threads], { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
while (!/^ready: /m.test(out)) {
  if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
  await new Promise((r) => setTimeout(r, 50));
}
const url = /^listening on (\S+)$/m.exec(out)[1];
const childRss = async () => {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) * 1024;
  } catch {
    return NaN; // not Linux
  }
};
/** The server's image-cache counters (tiles), from /metrics. */
async function httpTiles() {
  const res = await fetch(`${url}/metrics`);
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  const text = await res.text();
  const counter = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { hits: counter('smolvlm_image_cache_hits_total'), misses: counter('smolvlm_image_cache_misses_total') };
}
const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0, timeout: 3_600_000 });
async function viaHttp(start) {
  const dataUrl = dataUrls[sent.http++ % dataUrls.length];
  const stream = await openai.chat.completions.create({
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl, ...(low ? { detail: 'low' } : {}) } }, { type: 'text', text: PROMPT }] }],
    max_tokens: tokens, temperature: 0, ignore_eos: true, stream: true, stream_options: { include_usage: true },
  });
  let ttft, usage;
  for await (const c of stream) {
    if (ttft === undefined && c.choices[0]?.delta?.content) ttft = performance.now() - start;
    if (c.usage) usage = c.usage;
  }
  if (usage?.completion_tokens !== tokens) throw new Error(`${usage?.completion_tokens} tokens instead of ${tokens}`);
  return { ttft, tokens: usage.completion_tokens, cached: usage.prompt_tokens_details.cached_tokens, imageTokens: usage.prompt_tokens_details.image_tokens };
}

// ---- direct library calls, same settings, in this process ----
const vlm = await loadModel({ ...load, parallel: Number(values.parallel) });
async function direct(start) {
  const image = pictures[sent.direct++ % pictures.length];
  const s = vlm.stream({ messages: [{ role: 'user', content: [{ type: 'image', image, ...(low ? { tiling: false } : {}) }, { type: 'text', text: PROMPT }] }], maxTokens: tokens, temperature: 0, ignoreEos: true });
  let ttft;
  for await (const c of s) if (ttft === undefined && c.text) ttft = performance.now() - start;
  const { usage } = await s.result;
  if (usage.completionTokens !== tokens) throw new Error(`${usage.completionTokens} tokens instead of ${tokens}`);
  return { ttft, tokens: usage.completionTokens, cached: usage.cachedTokens, imageTokens: usage.imageTokens };
}
const sides = {
  http: { one: viaHttp, rss: childRss, tiles: httpTiles },
  direct: { one: direct, rss: async () => process.memoryUsage.rss(), tiles: async () => vlm.imageCacheStats() },
};

const runs = []; // { side, concurrency, round, ...drive() }
await viaHttp(performance.now()); // warm-up, one request each
await direct(performance.now());
const rssStart = { http: await childRss(), direct: process.memoryUsage.rss() }; // after the warm-up: buffers touched once
console.error(`model ${values.size}, ${values.threads} threads, parallel ${values.parallel}, ${tokens} tokens, image ${low ? 'one tile (detail low)' : 'tiled'}, ${pictures.length} pictures in turn, default caches; ${rounds} rounds x ${requests} requests per client, interleaved (load ${loadavg()[0].toFixed(1)})`);
for (let round = 0; round < rounds; round++) {
  for (const c of levels) {
    const order = round % 2 === 0 ? ['http', 'direct'] : ['direct', 'http'];
    for (const side of order) {
      const r = await drive(c, sides[side].one, sides[side].rss, sides[side].tiles);
      runs.push({ side, concurrency: c, round, load: loadavg()[0], ...r });
      console.error(`  round ${round + 1} ${side.padEnd(6)} c=${String(c).padStart(3)}: ${(r.generated / r.wall).toFixed(1)} tok/s, ${r.errors} errors, cached: ${r.promptReused} images in a slot, ${r.tileHits} tiles (${r.tileMisses} encoded) (load ${loadavg()[0].toFixed(1)})`);
    }
  }
}
const rssEnd = { http: await childRss(), direct: process.memoryUsage.rss() };
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await vlm.dispose();

const results = [];
for (const c of levels) {
  for (const side of ['http', 'direct']) {
    const rs = runs.filter((r) => r.side === side && r.concurrency === c);
    const lat = rs.flatMap((r) => r.lat), ttft = rs.flatMap((r) => r.ttft);
    results.push({
      side, concurrency: c, requests: rs.length * c * requests, errors: rs.reduce((a, r) => a + r.errors, 0),
      tokensPerSecond: rs.reduce((a, r) => a + r.generated, 0) / rs.reduce((a, r) => a + r.wall, 0),
      perRound: rs.map((r) => r.generated / r.wall),
      latencyMs: { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99) },
      ttftMs: { p50: quantile(ttft, 0.5), p99: quantile(ttft, 0.99) },
      cached: { promptReusedImages: rs.reduce((a, r) => a + r.promptReused, 0), tileHits: rs.reduce((a, r) => a + r.tileHits, 0), tilesEncoded: rs.reduce((a, r) => a + r.tileMisses, 0) },
      rssMB: { start: rssStart[side] / 1e6, max: Math.max(...rs.map((r) => r.rssMax)) / 1e6, end: rssEnd[side] / 1e6, perRound: rs.map((r) => r.rssEnd / 1e6) },
    });
  }
}
const f = (x) => x.toFixed(0).padStart(6);
for (const r of results) {
  console.log(`${r.side.padEnd(6)} c=${String(r.concurrency).padStart(3)}  ${r.tokensPerSecond.toFixed(1).padStart(7)} tok/s  latency p50 ${f(r.latencyMs.p50)} p99 ${f(r.latencyMs.p99)} ms  ttft p50 ${f(r.ttftMs.p50)} p99 ${f(r.ttftMs.p99)} ms  errors ${r.errors}/${r.requests}  cached ${r.cached.promptReusedImages} images, ${r.cached.tileHits} tiles (${r.cached.tilesEncoded} encoded)  rss ${r.rssMB.start.toFixed(0)} -> max ${r.rssMB.max.toFixed(0)}, end ${r.rssMB.end.toFixed(0)} MB`);
}
console.log('\nHTTP / direct aggregate tokens/s (per round in brackets):');
const ratios = {};
for (const c of levels) {
  const h = results.find((r) => r.side === 'http' && r.concurrency === c);
  const d = results.find((r) => r.side === 'direct' && r.concurrency === c);
  ratios[c] = h.tokensPerSecond / d.tokensPerSecond;
  console.log(`  c=${c}: ${ratios[c].toFixed(3)}x [${h.perRound.map((x, i) => (x / d.perRound[i]).toFixed(3)).join(', ')}]`);
}
console.log(`load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
if (values.json) {
  writeFileSync(values.json, `${JSON.stringify({ date: new Date().toISOString(), size: values.size, tokens, requests, rounds, detail: values.detail, pictures: pictures.length, parallel: Number(values.parallel), threads: Number(values.threads), results, ratios, runs: runs.map(({ lat, ttft, ...r }) => r) }, null, 2)}\n`);
}
