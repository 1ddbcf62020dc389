#!/usr/bin/env node
// Benchmark: the HTTP server (`smolvlm serve` in a child process, streamed chat completions with a
// base64 image) against direct library calls (vlm.stream; by default in a second child process,
// which drives its own calls, so that the HTTP side's load generator and its request bodies share
// a process with neither engine; --direct in-process runs them in the bench's own process, beside
// the HTTP client) at the same concurrency, on the same model and settings, interleaved: each round runs
// every concurrency on both sides, the side that goes first alternating, so that a shared
// machine's load changes hit both alike. Reports per concurrency and side: aggregate generated
// tokens/s (tokens over the summed wall time of the rounds), p50/p99 latency and time to first
// token over every request, errors, and RSS of the serving process (the server child for HTTP,
// the direct side's process for direct calls): after the warm-up, highest, after each round and after
// the last (flat: no growth from round to round). Both sides run with the library's default
// caches (the image cache and the prompt cache on), as `smolvlm serve` does, and by default every
// request of a side sends a picture of its own, so every request encodes its image. The bench
// counts what the caches served (images whose KV cells a slot still held, tiles from the image
// cache), so a run shows it. --pictures N sends N pictures in turn; --pictures 1 one picture
// every time: the caches then serve nearly every image (the cached case).
//
// The load generator (--client): `http` (default) sends request bodies built before the clock
// starts over keep-alive node:http connections and parses every SSE event, as autocannon-style
// load generators do, so that as little client CPU as possible lands on the engine's cores;
// `openai` drives the server with the official openai client, as a Node service would (it
// serializes the body per request and parses the stream through web streams: about 10 ms of CPU
// per request here, which on a machine whose cores the engine fills comes off the HTTP side).
// On Linux (bench/proc-cpu.mjs) the bench also reports each side's CPU time per request: the
// engine's persistent compute threads, threads that ended during the run (the image encoder's),
// the serving process's other threads, and the client's (HTTP side).
//   node bench/server.mjs [--size 256m|tiny] [--concurrency 8,32] [--requests 2] [--rounds 2]
//                         [--tokens 48] [--parallel 8] [--threads N] [--detail auto|low]
//                         [--pictures N] [--client http|openai] [--no-warmup] [--lookahead N]
//                         [--direct child|in-process] [--json out.json]
// --detail low: the image as one tile (`image_url.detail: 'low'`, `tiling: false` directly).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { loadModel } from '../dist/index.js';
import { ensureFixture } from '../test/fixtures/synth.mjs';
import { benchPhotos } from './photo.mjs';
import { cpuByThread, cpuOfProcess, machineCpu } from './proc-cpu.mjs';

const { values } = parseArgs({
  allowNegative: true, // --no-warmup
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
    client: { type: 'string', default: 'http' },
    warmup: { type: 'boolean', default: true },
    lookahead: { type: 'string' },
    direct: { type: 'string', default: 'child' },
    child: { type: 'boolean', default: false },
    'direct-child': { type: 'boolean', default: false },
  },
});
const files = await ensureFixture({ size: values.size });
const load = { model: files.model, mmproj: files.mmproj, threads: Number(values.threads), contextSize: 8192 };

if (values.child) {
  // the server side: `smolvlm serve` as the CLI runs it
  const { serveCommand } = await import('../dist/server/command.js');
  // --metrics: the bench reads the image cache's counters from /metrics (off by default in
  // `smolvlm serve`; it costs the HTTP side a few counter updates per request)
  await serveCommand({ port: 0, parallel: values.parallel, maxQueue: 1024, metrics: true, ...(values.lookahead === undefined ? {} : { lookahead: values.lookahead }) }, load);
  process.exit(0);
}

const levels = values.concurrency.split(',').map(Number);
const requests = Number(values.requests), rounds = Number(values.rounds), tokens = Number(values.tokens);
const low = values.detail === 'low';
const PROMPT = 'Describe this image in detail.';
// default: one picture per request of a side (the warm-up included)
const pictureCount = values.pictures === undefined ? 1 + (values.warmup ? requests * Math.max(...levels) : 0) + rounds * requests * levels.reduce((a, c) => a + c, 0) : Number(values.pictures);
if (!Number.isInteger(pictureCount) || pictureCount < 1) throw new RangeError(`--pictures must be a whole number of at least 1, not ${values.pictures}`);
if (values.client !== 'http' && values.client !== 'openai') throw new RangeError(`--client must be http or openai, not ${values.client}`);
if (values.direct !== 'child' && values.direct !== 'in-process') throw new RangeError(`--direct must be child or in-process, not ${values.direct}`);
const pictures = (await benchPhotos(pictureCount, 'server-bench')).map((path) => readFileSync(path));
/** The chat request for picture k, in OpenAI's shape. */
const chatRequest = (k) => ({
  messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${pictures[k].toString('base64')}`, ...(low ? { detail: 'low' } : {}) } }, { type: 'text', text: PROMPT }] }],
  max_tokens: tokens, temperature: 0, ignore_eos: true, stream: true, stream_options: { include_usage: true },
});
// built before the clock starts: the http client's bodies as bytes, the openai client's as objects
const bodies = values['direct-child'] ? [] : pictures.map((_, k) => (values.client === 'http' ? Buffer.from(JSON.stringify(chatRequest(k))) : chatRequest(k)));
const sent = { http: 0, direct: 0 }; // each side's requests so far: request k sends picture k mod --pictures

function quantile(xs, q) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
}

/**
 * What each thread gained from `before` to `after`, and under the key 'exited' what threads that
 * ended meanwhile spent (the process's total minus the live threads'): ggml starts fresh threads
 * for every graph of the image encoder (it has no persistent pool), and idle body workers exit.
 */
function gained(before, after) {
  const out = new Map([...after.threads].map(([tid, ms]) => [tid, ms - (before.threads.get(tid) ?? 0)]).filter(([, d]) => d > 0));
  const live = [...after.threads].reduce((a, [tid, ms]) => a + ms - (before.threads.get(tid) ?? 0), 0);
  out.set('exited', Math.max(0, after.total - before.total - live)); // the total counts ended threads to their end
  return out;
}
const sampleCpu = (pid) => ({ threads: cpuByThread(pid), total: cpuOfProcess(pid) });
/**
 * The engine's compute threads of a serving process over all its runs: of the threads other than
 * the JS thread, the `threads` that gained the most CPU (generation keeps them busier than image
 * decoding, body parsing or GC helpers: on the 256M model by two orders of magnitude).
 */
function engineThreads(pid, perRun) {
  const total = new Map();
  for (const m of perRun) for (const [tid, d] of m) if (tid !== String(pid) && tid !== 'exited') total.set(tid, (total.get(tid) ?? 0) + d);
  return new Set([...total].sort((x, y) => y[1] - x[1]).slice(0, Number(values.threads)).map(([tid]) => tid));
}

/** Runs `concurrency` clients, each sending `requests` requests one after another. */
async function drive(concurrency, one, rss, tiles, pids) {
  const lat = [], ttft = [];
  let generated = 0, errors = 0, rssMax = 0, promptReused = 0;
  const tiles0 = await tiles();
  const cpu0 = pids.map(sampleCpu);
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
  const threadMs = pids.map((pid, i) => gained(cpu0[i], sampleCpu(pid))); // serving process, then the client's
  clearInterval(sampler);
  const rssEnd = await rss();
  const tiles1 = await tiles();
  return { lat, ttft, generated, errors, wall, encodeSeconds: tiles1.encodeSeconds - tiles0.encodeSeconds, rssMax: Math.max(rssMax, rssEnd), rssEnd, promptReused, tileHits: tiles1.hits - tiles0.hits, tileMisses: tiles1.misses - tiles0.misses, threadMs };
}

// ---- direct library calls, same settings: in a child process of their own (--direct child,
// the default) or in this one (--direct in-process) ----
/** /proc/<pid>/status's resident set, in bytes (NaN off Linux). */
const rssOf = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
  } catch {
    return NaN;
  }
};
let vlm, directEncodeMs = 0; // the encoder's busy time over the direct side's generations
async function direct(start) {
  const image = pictures[sent.direct++ % pictures.length];
  const s = vlm.stream({ messages: [{ role: 'user', content: [{ type: 'image', image, ...(low ? { tiling: false } : {}) }, { type: 'text', text: PROMPT }] }], maxTokens: tokens, temperature: 0, ignoreEos: true });
  let ttft;
  for await (const c of s) if (ttft === undefined && c.text) ttft = performance.now() - start;
  const { usage, timings } = await s.result;
  directEncodeMs += timings.imageEncodeMs;
  if (usage.completionTokens !== tokens) throw new Error(`${usage.completionTokens} tokens instead of ${tokens}`);
  return { ttft, tokens: usage.completionTokens, cached: usage.cachedTokens, imageTokens: usage.imageTokens };
}
const directTiles = async () => ({ ...vlm.imageCacheStats(), encodeSeconds: directEncodeMs / 1000 });
const directRss = async () => process.memoryUsage.rss();

if (values['direct-child']) {
  // the direct side's process: runs the blocks the bench asks for, and answers with their figures
  vlm = await loadModel({ ...load, parallel: Number(values.parallel) });
  process.on('disconnect', () => process.exit(1)); // the bench is gone: never run on alone
  process.on('message', async (m) => {
    try {
      if (m.type === 'one') await direct(performance.now());
      else if (m.type === 'drive') {
        const { threadMs, ...r } = await drive(m.concurrency, direct, directRss, directTiles, []);
        process.send({ type: 'result', r });
        return;
      } else if (m.type === 'stop') {
        await vlm.dispose();
        process.exit(0);
      }
      process.send({ type: 'done' });
    } catch (err) {
      process.send({ type: 'error', message: err.stack ?? String(err) }); // the bench fails with it
    }
  });
  process.send({ type: 'ready' });
  await new Promise(() => {}); // the IPC channel keeps it alive until 'stop'
}

// ---- HTTP: the server in a child process ----
const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', '--size', values.size, '--parallel', values.parallel, '--threads', values.threads, ...(values.lookahead === undefined ? [] : ['--lookahead', values.lookahead])], { stdio: ['ignore', 'pipe', 'inherit'] });
process.on('exit', () => child.kill('SIGKILL')); // never leave the server behind (a failed run)
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
let out = '';
child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
while (!/^ready: /m.test(out)) {
  if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
  await new Promise((r) => setTimeout(r, 50));
}
const url = /^listening on (\S+)$/m.exec(out)[1];
const childRss = async () => rssOf(child.pid);
/** The server's image-cache counters (tiles) and the encoder's busy seconds, from /metrics. */
async function httpTiles() {
  const res = await fetch(`${url}/metrics`);
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  const text = await res.text();
  const counter = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { hits: counter('smolvlm_image_cache_hits_total'), misses: counter('smolvlm_image_cache_misses_total'), encodeSeconds: counter('smolvlm_image_encode_seconds_total') };
}
/** One streamed request through the official openai client. */
const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0, timeout: 3_600_000 });
async function viaOpenAI(start, body) {
  const stream = await openai.chat.completions.create(body);
  let ttft, usage;
  for await (const c of stream) {
    if (ttft === undefined && c.choices[0]?.delta?.content) ttft = performance.now() - start;
    if (c.usage) usage = c.usage;
  }
  return { ttft, usage };
}
/** One streamed request over node:http: the body as built, every SSE event parsed. */
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
const chatUrl = new URL(`${url}/v1/chat/completions`);
function viaNodeHttp(start, body) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(chatUrl, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.byteLength } }, (res) => {
      res.setEncoding('utf8');
      let text = '', ttft, usage, done = false;
      res.on('data', (d) => {
        text += d;
        if (res.statusCode !== 200) return;
        for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
          const event = text.slice(0, end);
          text = text.slice(end + 2);
          if (!event.startsWith('data: ')) continue;
          const data = event.slice(6);
          if (data === '[DONE]') {
            done = true;
            continue;
          }
          let c;
          try {
            c = JSON.parse(data);
          } catch (err) {
            return req.destroy(new Error(`a malformed SSE event: ${err.message}`));
          }
          if (c.error) return req.destroy(new Error(`error event: ${c.error.message}`));
          if (ttft === undefined && c.choices?.[0]?.delta?.content) ttft = performance.now() - start;
          if (c.usage) usage = c.usage;
        }
      });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        else if (!done) reject(new Error('the stream ended without [DONE]'));
        else resolve({ ttft, usage });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(3_600_000, () => req.destroy(new Error('no answer within an hour')));
    req.end(body);
  });
}
async function viaHttp(start) {
  const body = bodies[sent.http++ % bodies.length];
  const { ttft, usage } = await (values.client === 'http' ? viaNodeHttp(start, body) : viaOpenAI(start, body));
  if (usage?.completion_tokens !== tokens) throw new Error(`${usage?.completion_tokens} tokens instead of ${tokens}`);
  return { ttft, tokens: usage.completion_tokens, cached: usage.prompt_tokens_details.cached_tokens, imageTokens: usage.prompt_tokens_details.image_tokens };
}

let directChild;
/**
 * Asks the direct side's process for `message` (none: waits for its ready message) and waits for
 * its answer; rejects when it fails or exits.
 */
function ask(message) {
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`the direct side's process exited with ${code}`));
    directChild.once('exit', onExit);
    directChild.once('message', (answer) => {
      directChild.off('exit', onExit);
      if (answer.type === 'error') reject(new Error(`the direct side failed: ${answer.message}`));
      else resolve(answer);
    });
    if (message) directChild.send(message);
  });
}
if (values.direct === 'child') {
  directChild = spawn(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2), '--direct-child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  process.on('exit', () => directChild.kill('SIGKILL'));
  await ask(); // loaded
} else {
  vlm = await loadModel({ ...load, parallel: Number(values.parallel) });
}
const directPid = directChild?.pid ?? process.pid;
// pids: the serving process, then the client's when it is another (CPU is counted per thread)
const sides = {
  http: { drive: (c) => drive(c, viaHttp, childRss, httpTiles, [child.pid, process.pid]), pids: [child.pid, process.pid] },
  direct: {
    drive: directChild
      ? async (c) => {
          const cpu0 = sampleCpu(directPid);
          const { r } = await ask({ type: 'drive', concurrency: c });
          return { ...r, threadMs: [gained(cpu0, sampleCpu(directPid))] };
        }
      : (c) => drive(c, direct, directRss, directTiles, [process.pid]),
    pids: [directPid],
  },
};
// Warm-up, not measured: one request each, then (unless --no-warmup) one block of every side at
// the highest concurrency. A server's first burst of requests runs slower than the next ones (its
// first c=32 block came out 5-12 % behind direct calls in 5 of 6 runs, later ones not): worker
// threads start, code paths get compiled, the heap and the allocator's arenas grow.
await viaHttp(performance.now());
await (directChild ? ask({ type: 'one' }) : direct(performance.now()));
if (values.warmup) {
  const top = Math.max(...levels);
  for (const side of ['http', 'direct']) await sides[side].drive(top);
}

const runs = []; // { side, concurrency, round, ...drive() }
const rssStart = { http: await childRss(), direct: rssOf(directPid) }; // after the warm-up
console.error(`model ${values.size}, ${values.threads} threads, parallel ${values.parallel}, ${tokens} tokens, image ${low ? 'one tile (detail low)' : 'tiled'}, ${pictures.length} pictures in turn, default caches; ${rounds} rounds x ${requests} requests per client, interleaved (load ${loadavg()[0].toFixed(1)})`);
for (let round = 0; round < rounds; round++) {
  for (const c of levels) {
    const order = round % 2 === 0 ? ['http', 'direct'] : ['direct', 'http'];
    for (const side of order) {
      // what the machine did meanwhile: steal and idle time, and the other side's serving process
      // (with --direct in-process the HTTP side's idle counterpart is its own client: not counted)
      const idlePid = side === 'direct' ? child.pid : directChild?.pid;
      const m0 = machineCpu(), idle0 = idlePid ? cpuOfProcess(idlePid) : NaN;
      const r = await sides[side].drive(c);
      const m1 = machineCpu();
      const machine = m0 && m1 ? { stealMs: m1.steal - m0.steal, idleMs: m1.idle - m0.idle, otherSideMs: idlePid ? cpuOfProcess(idlePid) - idle0 : null } : undefined;
      runs.push({ side, concurrency: c, round, load: loadavg()[0], ...r, machine });
      console.error(`  round ${round + 1} ${side.padEnd(6)} c=${String(c).padStart(3)}: ${(r.generated / r.wall).toFixed(1)} tok/s, encoder busy ${r.encodeSeconds.toFixed(1)} of ${r.wall.toFixed(1)} s${machine ? `, steal ${(machine.stealMs / 1000).toFixed(1)} s, idle ${(machine.idleMs / 1000).toFixed(1)} s, the other side's process ${machine.otherSideMs ?? '-'} ms` : ''}, ${r.errors} errors, cached: ${r.promptReused} images in a slot, ${r.tileHits} tiles (${r.tileMisses} encoded) (load ${loadavg()[0].toFixed(1)})`);
    }
  }
}
const rssEnd = { http: await childRss(), direct: rssOf(directPid) };
// CPU per run: the serving process's engine threads, its other threads, the client's threads
// (HTTP: this process; with --direct in-process its idle engine threads are left out)
const engines = { [child.pid]: engineThreads(child.pid, runs.filter((r) => r.side === 'http').map((r) => r.threadMs[0])) };
engines[directPid] = engineThreads(directPid, runs.filter((r) => r.side === 'direct').map((r) => r.threadMs[0]));
for (const r of runs) {
  const split = (m, pid) => {
    let engine = 0, other = 0;
    for (const [tid, d] of m) if (tid !== 'exited') engines[pid]?.has(tid) ? (engine += d) : (other += d);
    return { engine, other, exited: m.get('exited') ?? 0 };
  };
  const pids = sides[r.side].pids;
  if (process.env.BENCH_CPU_THREADS) { // per-thread detail, for finding where CPU goes
    for (const [i, m] of r.threadMs.entries()) console.error(`${r.side} c=${r.concurrency} round ${r.round + 1} ${i === 0 ? 'serving' : 'client'}:`, [...m].sort((x, y) => y[1] - x[1]).map(([tid, d]) => `${tid === String(pids[i]) ? 'main' : tid}${engines[pids[i]]?.has(tid) ? '*' : ''}=${d}`).join(' '));
  }
  const serving = split(r.threadMs[0], pids[0]);
  r.cpuMs = { ...serving, client: pids.length > 1 ? split(r.threadMs[1], pids[1]).other : 0 }; // with --direct in-process the client's process holds the direct side's idle engine (left out)
  delete r.threadMs;
}
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
if (directChild) {
  directChild.send({ type: 'stop' });
  await new Promise((r) => directChild.once('exit', r));
} else await vlm.dispose();

const results = [];
for (const c of levels) {
  for (const side of ['http', 'direct']) {
    const rs = runs.filter((r) => r.side === side && r.concurrency === c);
    const lat = rs.flatMap((r) => r.lat), ttft = rs.flatMap((r) => r.ttft);
    results.push({
      side, concurrency: c, requests: rs.length * c * requests, errors: rs.reduce((a, r) => a + r.errors, 0),
      tokensPerSecond: rs.reduce((a, r) => a + r.generated, 0) / rs.reduce((a, r) => a + r.wall, 0),
      perRound: rs.map((r) => r.generated / r.wall),
      // wall time of the rounds, and how much of it the image encoder ran (one encode at a time)
      wallSeconds: rs.reduce((a, r) => a + r.wall, 0),
      encodeSeconds: rs.reduce((a, r) => a + r.encodeSeconds, 0),
      latencyMs: { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99) },
      ttftMs: { p50: quantile(ttft, 0.5), p99: quantile(ttft, 0.99) },
      cached: { promptReusedImages: rs.reduce((a, r) => a + r.promptReused, 0), tileHits: rs.reduce((a, r) => a + r.tileHits, 0), tilesEncoded: rs.reduce((a, r) => a + r.tileMisses, 0) },
      cpuMsPerRequest: Object.fromEntries(['engine', 'exited', 'other', 'client'].map((k) => [k, rs.reduce((a, r) => a + r.cpuMs[k], 0) / rs.reduce((a, r) => a + r.lat.length + r.errors, 0)])),
      rssMB: { start: rssStart[side] / 1e6, max: Math.max(...rs.map((r) => r.rssMax)) / 1e6, end: rssEnd[side] / 1e6, perRound: rs.map((r) => r.rssEnd / 1e6) },
    });
  }
}
const f = (x) => x.toFixed(0).padStart(6);
for (const r of results) {
  console.log(`${r.side.padEnd(6)} c=${String(r.concurrency).padStart(3)}  ${r.tokensPerSecond.toFixed(1).padStart(7)} tok/s  latency p50 ${f(r.latencyMs.p50)} p99 ${f(r.latencyMs.p99)} ms  ttft p50 ${f(r.ttftMs.p50)} p99 ${f(r.ttftMs.p99)} ms  errors ${r.errors}/${r.requests}  cached ${r.cached.promptReusedImages} images, ${r.cached.tileHits} tiles (${r.cached.tilesEncoded} encoded)  CPU ms/request engine ${r.cpuMsPerRequest.engine.toFixed(0)} exited threads ${r.cpuMsPerRequest.exited.toFixed(0)} other ${r.cpuMsPerRequest.other.toFixed(1)} client ${r.cpuMsPerRequest.client.toFixed(1)}  rss ${r.rssMB.start.toFixed(0)} -> max ${r.rssMB.max.toFixed(0)}, end ${r.rssMB.end.toFixed(0)} MB`);
}
console.log('\nHTTP / direct aggregate tokens/s (per round in brackets):');
const ratios = {};
for (const c of levels) {
  const h = results.find((r) => r.side === 'http' && r.concurrency === c);
  const d = results.find((r) => r.side === 'direct' && r.concurrency === c);
  ratios[c] = h.tokensPerSecond / d.tokensPerSecond;
  console.log(`  c=${c}: ${ratios[c].toFixed(3)}x [${h.perRound.map((x, i) => (x / d.perRound[i]).toFixed(3)).join(', ')}]`);
  // where the extra wall time went: the encoder's busy time against the rest (decode steps, idle)
  console.log(`    wall ${h.wallSeconds.toFixed(1)} / ${d.wallSeconds.toFixed(1)} s: encoder ${h.encodeSeconds.toFixed(1)} / ${d.encodeSeconds.toFixed(1)} s, the rest ${(h.wallSeconds - h.encodeSeconds).toFixed(1)} / ${(d.wallSeconds - d.encodeSeconds).toFixed(1)} s`);
}
console.log(`load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
if (values.json) {
  writeFileSync(values.json, `${JSON.stringify({ date: new Date().toISOString(), size: values.size, tokens, requests, rounds, detail: values.detail, pictures: pictures.length, client: values.client, direct: values.direct, warmup: values.warmup, lookahead: values.lookahead ?? null, commit: (() => { try { return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { return null; } })(), parallel: Number(values.parallel), threads: Number(values.threads), results, ratios, runs: runs.map(({ lat, ttft, ...r }) => r) }, null, 2)}\n`);
}
