#!/usr/bin/env node
// Benchmark: the HTTP server (`smolvlm serve` in a child process, the official openai client,
// streamed chat completions with a base64 image) against direct library calls (vlm.stream) at the
// same concurrency, on the same model and settings. Reports per concurrency and side: aggregate
// generated tokens/s, p50/p99 latency and time to first token, errors, RSS (the serving process:
// the server child for HTTP, this process for direct calls). The image cache is off on both sides,
// so every request encodes its image.
//   node bench/server.mjs [--size 256m|tiny] [--concurrency 8,32] [--requests 2] [--tokens 48]
//                         [--parallel 8] [--threads N] [--json out.json]
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { loadModel } from '../dist/index.js';
import { ensureFixture } from '../test/fixtures/synth.mjs';
import { benchPhoto } from './photo.mjs';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256m' },
    concurrency: { type: 'string', default: '8,32' },
    requests: { type: 'string', default: '2' },
    tokens: { type: 'string', default: '48' },
    parallel: { type: 'string', default: '8' },
    threads: { type: 'string', default: String(availableParallelism()) },
    json: { type: 'string' },
    child: { type: 'boolean', default: false },
  },
});
const files = await ensureFixture({ size: values.size });
const load = { model: files.model, mmproj: files.mmproj, threads: Number(values.threads), contextSize: 8192, imageCache: false };

if (values.child) {
  // the server side: `smolvlm serve` as the CLI runs it
  const { serveCommand } = await import('../dist/server/command.js');
  await serveCommand({ port: 0, parallel: values.parallel, maxQueue: 1024 }, load);
  process.exit(0);
}

const levels = values.concurrency.split(',').map(Number);
const requests = Number(values.requests);
const tokens = Number(values.tokens);
const PROMPT = 'Describe this image in detail.';
const image = readFileSync(await benchPhoto('server-bench.png'));
const dataUrl = `data:image/png;base64,${image.toString('base64')}`;

function quantile(xs, q) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
}

/** Runs `concurrency` clients, each sending `requests` requests one after another. */
async function drive(concurrency, one, rss) {
  const lat = [], ttft = [];
  let generated = 0, errors = 0, rssMax = 0;
  const rssStart = await rss();
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
  return {
    concurrency, requests: concurrency * requests, errors, tokensPerSecond: generated / wall,
    latencyMs: { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99) },
    ttftMs: { p50: quantile(ttft, 0.5), p99: quantile(ttft, 0.99) },
    rssMB: { start: rssStart / 1e6, max: Math.max(rssMax, rssEnd) / 1e6, end: rssEnd / 1e6 },
  };
}

function print(side, r) {
  const f = (x) => x.toFixed(0).padStart(6);
  console.log(`${side.padEnd(6)} c=${String(r.concurrency).padStart(3)}  ${r.tokensPerSecond.toFixed(1).padStart(7)} tok/s  latency p50 ${f(r.latencyMs.p50)} p99 ${f(r.latencyMs.p99)} ms  ttft p50 ${f(r.ttftMs.p50)} p99 ${f(r.ttftMs.p99)} ms  errors ${r.errors}  rss ${r.rssMB.start.toFixed(0)} -> max ${r.rssMB.max.toFixed(0)}, end ${r.rssMB.end.toFixed(0)} MB`);
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
const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0, timeout: 3_600_000 });
async function viaHttp(start) {
  const stream = await openai.chat.completions.create({
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl } }, { type: 'text', text: PROMPT }] }],
    max_tokens: tokens, temperature: 0, ignore_eos: true, stream: true, stream_options: { include_usage: true },
  });
  let ttft, n = 0;
  for await (const c of stream) {
    if (ttft === undefined && c.choices[0]?.delta?.content) ttft = performance.now() - start;
    if (c.usage) n = c.usage.completion_tokens;
  }
  return { ttft, tokens: n };
}
const results = [];
for (const c of levels) {
  const r = await drive(c, viaHttp, childRss);
  print('http', r);
  results.push({ side: 'http', ...r });
}
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));

// ---- direct library calls, same settings ----
const vlm = await loadModel({ ...load, parallel: Number(values.parallel) });
async function direct(start) {
  const s = vlm.stream({ messages: [{ role: 'user', content: [{ type: 'image', image }, { type: 'text', text: PROMPT }] }], maxTokens: tokens, temperature: 0, ignoreEos: true });
  let ttft;
  for await (const c of s) if (ttft === undefined && c.text) ttft = performance.now() - start;
  return { ttft, tokens: (await s.result).usage.completionTokens };
}
for (const c of levels) {
  const r = await drive(c, direct, async () => process.memoryUsage.rss());
  print('direct', r);
  results.push({ side: 'direct', ...r });
}
await vlm.dispose();

console.log('\nHTTP / direct aggregate tokens/s:');
for (const c of levels) {
  const h = results.find((r) => r.side === 'http' && r.concurrency === c);
  const d = results.find((r) => r.side === 'direct' && r.concurrency === c);
  console.log(`  c=${c}: ${(h.tokensPerSecond / d.tokensPerSecond).toFixed(3)}x`);
}
if (values.json) writeFileSync(values.json, `${JSON.stringify({ size: values.size, tokens, requests, parallel: Number(values.parallel), threads: Number(values.threads), results }, null, 2)}\n`);
