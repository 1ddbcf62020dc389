#!/usr/bin/env node
// Benchmark: continuous batching. N concurrent generate() calls (raw prompts of exactly --npp
// tokens, --ntg generated tokens each, greedy, ignoreEos) against llama.cpp's own
// llama-batched-bench (`-npp 16 -ntg 47,48 -npl 8`) from the same build, on the same model,
// threads and context, interleaved in one run. Builds nothing: it needs SMOLVLM_BUILD_REFERENCE=1
// (build/Release/llama-batched-bench).
//   node bench/batched.mjs [--size 256m] [--npl 8] [--npp 16] [--ntg 48] [--threads 2]
//                          [--rounds 5] [--context 4096] [--kv both|unified|per-slot]
//                          [--api generate|stream] [--json out.json]
//
// What is compared (batched-bench.cpp): its T_TG times --ntg steps of one token per sequence
// (random tokens, no sampling) and S_TG = npl*ntg / T_TG. Our generation phase is the same steps
// plus sampling, detokenizing and delivering to JS: from the first token of the last stream to
// reach one to the last stream's end, npl*(ntg-1) tokens decoded (the first token comes with the
// prompt). End to end, we decode npp + ntg - 1 tokens per stream, which is batched-bench's row for
// ntg - 1: S = npl*(npp + ntg - 1) / T against the same work over our wall time from the calls
// to the last result. KV layouts are compared like with like: `unified` is our default
// (kvUnified: true, one pool of cells) against `llama-batched-bench -kvu`; `per-slot` is
// kvUnified: false against batched-bench's default (a stream per sequence). --api generate
// (default): each stream's first token is its end less its generationMs (native clocks, from the
// result); --api stream: when its first chunk arrives.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { backendInfo, loadModel } from '../dist/index.js';
import { ensureFixture } from '../test/fixtures/synth.mjs';
import { referenceTool } from '../test/helpers.mjs';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256m' },
    npl: { type: 'string', default: '8' },
    npp: { type: 'string', default: '16' },
    ntg: { type: 'string', default: '48' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '5' },
    context: { type: 'string', default: '4096' },
    kv: { type: 'string', default: 'both' },
    api: { type: 'string', default: 'generate' },
    json: { type: 'string' },
  },
});
if (!['generate', 'stream'].includes(values.api)) throw new Error('--api is generate or stream');
const layouts = values.kv === 'both' ? ['unified', 'per-slot'] : [values.kv];
if (!layouts.every((l) => ['unified', 'per-slot'].includes(l))) throw new Error('--kv is both, unified or per-slot');
const npl = Number(values.npl), npp = Number(values.npp), ntg = Number(values.ntg);
const threads = Number(values.threads), rounds = Number(values.rounds), ctx = Number(values.context);

const files = await ensureFixture({ size: values.size });
const engines = {};
for (const l of layouts) engines[l] = await loadModel({ model: files.model, threads, parallel: npl, contextSize: ctx, kvUnified: l === 'unified' });
const bench = referenceTool('llama-batched-bench'); // after the load: same CPU variant as ours

/** Prompts of exactly `npp` tokens (no BOS, as batched-bench's), random like its tokens. */
async function prompts(vlm, n) {
  const out = [];
  while (out.length < n) {
    const ids = Array.from({ length: npp }, () => 256 + Math.floor(Math.random() * 40000));
    const text = await vlm.detokenize(ids);
    if ((await vlm.tokenize(text, { addSpecial: false })).length === npp) out.push(text);
  }
  return out;
}

async function ours(vlm) {
  const texts = await prompts(vlm, npl);
  const t0 = performance.now();
  const runs = await Promise.all(texts.map(async (prompt) => {
    const request = { prompt, addSpecial: false, maxTokens: ntg, temperature: 0, ignoreEos: true };
    if (values.api === 'generate') {
      const r = await vlm.generate(request);
      const done = performance.now();
      return { first: done - r.timings.generationMs, done, r };
    }
    const s = vlm.stream(request);
    let first;
    for await (const c of s) if (first === undefined && c.text !== undefined) first = performance.now();
    const r = await s.result;
    return { first, done: performance.now(), r };
  }));
  const end = Math.max(...runs.map((x) => x.done));
  for (const { r } of runs) {
    if (r.usage.promptTokens !== npp || r.usage.completionTokens !== ntg) {
      throw new Error(`expected ${npp} prompt and ${ntg} completion tokens, got ${JSON.stringify(r.usage)}`);
    }
  }
  const tgStart = Math.max(...runs.map((x) => x.first));
  return {
    tg: (npl * (ntg - 1)) / ((end - tgStart) / 1000),
    total: (npl * (npp + ntg - 1)) / ((end - t0) / 1000),
    firstSpreadMs: tgStart - Math.min(...runs.map((x) => x.first)),
  };
}

function batchedBench(layout) {
  const args = ['-m', files.model, '-npp', String(npp), '-ntg', `${ntg - 1},${ntg}`, '-npl', String(npl),
    '-t', String(threads), '-c', String(ctx), '--output-format', 'jsonl', ...(layout === 'unified' ? ['-kvu'] : [])];
  return new Promise((resolve, reject) => {
    const p = spawn(bench, args);
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => {
      const rows = (out + err).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      const tg = rows.find((r) => r.tg === ntg), short = rows.find((r) => r.tg === ntg - 1);
      if (code !== 0 || !tg || !short) return reject(new Error(`llama-batched-bench failed (${code}): ${err.slice(-2000)}`));
      resolve({ tg: tg.speed_tg, total: short.speed });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b), m = Math.floor(s.length / 2);
  return +(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2).toFixed(3);
};
const load = () => loadavg()[0].toFixed(1);
console.error(`model ${values.size}, ${threads} threads, ${npl} streams x (${npp} prompt + ${ntg} generated) tokens, context ${ctx}, CPU variant ${backendInfo().cpuVariant}, ${values.api}(), KV ${layouts.join(' and ')}; ${rounds} rounds interleaved (load ${load()})`);
for (const l of layouts) await batchedBench(l), await ours(engines[l]); // warm-up: page cache, first-run allocations
const rows = [];
for (let i = 0; i < rounds; i++) {
  for (const kv of layouts) {
    const loadBefore = load();
    // the side that goes first alternates, so a load change between the two hits both alike
    let b, o;
    if (i % 2 === 0) b = await batchedBench(kv), o = await ours(engines[kv]);
    else o = await ours(engines[kv]), b = await batchedBench(kv);
    rows.push({ round: i + 1, kv, load: loadBefore, oursTg: +o.tg.toFixed(1), benchTg: +b.tg.toFixed(1), tgRatio: +(o.tg / b.tg).toFixed(3),
      oursTotal: +o.total.toFixed(1), benchTotal: +b.total.toFixed(1), totalRatio: +(o.total / b.total).toFixed(3), firstSpreadMs: +o.firstSpreadMs.toFixed(1) });
    console.error(JSON.stringify(rows.at(-1)));
  }
}
for (const v of Object.values(engines)) await v.dispose();
const summary = {};
for (const kv of layouts) {
  const rs = rows.filter((r) => r.kv === kv);
  summary[kv] = {
    tgRatio: median(rs.map((r) => r.tgRatio)), totalRatio: median(rs.map((r) => r.totalRatio)),
    oursTg: median(rs.map((r) => r.oursTg)), benchTg: median(rs.map((r) => r.benchTg)),
  };
}
console.table(rows);
for (const kv of layouts) {
  const m = summary[kv];
  console.log(`${kv} KV: median generation-phase ratio (ours / llama-batched-bench${kv === 'unified' ? ' -kvu' : ''} S_TG) ${m.tgRatio} (${m.oursTg} vs ${m.benchTg} tok/s); end to end, same work: ${m.totalRatio}`);
}
if (summary.unified && summary['per-slot']) console.log(`our per-slot / unified generation speed: ${(summary['per-slot'].oursTg / summary.unified.oursTg).toFixed(3)}`);
console.log(`load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
if (values.json) writeFileSync(values.json, `${JSON.stringify({ date: new Date().toISOString(), api: values.api, size: values.size, threads, npl, npp, ntg, ctx, layouts, rows, summary }, null, 2)}\n`);
