#!/usr/bin/env node
// Benchmark: smolvlm-node against llama.cpp's own llama-mtmd-cli, same build, same machine, same
// run, same inputs (the 256M-shape synthetic model, one 1024x768 image = 13 tiles, greedy).
// Prints both sides and the ratios; `--json FILE` writes them.
//   node bench/bench.mjs [--size 256m|tiny] [--tokens 64] [--threads N] [--runs 2] [--json out.json]
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { backendInfo } from '../dist/index.js';
import { ensureFixture } from '../test/fixtures/synth.mjs';
import { referenceCli, tempDir } from '../test/helpers.mjs';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256m' },
    tokens: { type: 'string', default: '64' },
    threads: { type: 'string', default: String(availableParallelism()) },
    runs: { type: 'string', default: '2' },
    json: { type: 'string' },
  },
});
const tokens = Number(values.tokens), threads = Number(values.threads), runs = Number(values.runs);
const PROMPT = 'Describe this image in detail.';
const CTX = 4096;

const files = await ensureFixture({ size: values.size });
const image = join(tempDir(), 'bench-1024x768.png');
{
  const w = 1024, h = 768, px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = (y * w + x) * 3;
    px[i] = (x * 255) / w; px[i + 1] = (y * 255) / h; px[i + 2] = ((x ^ y) & 0xff);
  }
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(image);
}

/**
 * One llama-mtmd-cli run. Generation speed is wall-clock, like ours: the time between the first
 * and the last token arriving on its stdout (it flushes each token). Image encode from its log;
 * prompt eval and time to first token from llama.cpp's perf counters (-v prints them): its
 * "prompt eval" clock runs from the first prompt decode to the first sample, so it spans the
 * image encode too. Peak RSS: the kernel's high-water mark (VmHWM), sampled until exit.
 */
function runCli() {
  const cli = referenceCli();
  const args = ['-m', files.model, '--mmproj', files.mmproj, '--image', image, '-p', PROMPT, '--temp', '0',
    '-n', String(tokens), '-t', String(threads), '-c', String(CTX), '--ignore-eos', '-v'];
  return new Promise((resolve, reject) => {
    const p = spawn(cli, args);
    let stdout = '', stderr = '', firstAt = 0, lastAt = 0, hwm = 0;
    p.stdout.on('data', (d) => {
      stdout += d;
      const now = performance.now();
      if (stdout.length > 1) { // the first byte is the "\n" printed after the prompt
        if (!firstAt) firstAt = now;
        lastAt = now;
      }
    });
    p.stderr.on('data', (d) => (stderr += d));
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'));
        if (m) hwm = Math.max(hwm, Number(m[1]) * 1024);
      } catch { /* exited */ }
    }, 20);
    p.on('exit', (code) => {
      clearInterval(poll);
      if (code !== 0) return reject(new Error(`llama-mtmd-cli failed (${code}): ${stderr.slice(-2000)}`));
      const encodeMs = [...stderr.matchAll(/batch encoding done in (\d+) ms/g)].reduce((a, m) => a + Number(m[1]), 0);
      const pe = stderr.match(/prompt eval time =\s*([\d.]+) ms \/\s*(\d+) tokens/);
      if (!pe) return reject(new Error(`could not parse llama-mtmd-cli timings:\n${stderr.slice(-2000)}`));
      resolve({
        imageEncodeMs: encodeMs,
        promptEvalMs: Number(pe[1]) - encodeMs,
        promptTokens: Number(pe[2]),
        tokensPerSecond: ((tokens - 1) / (lastAt - firstAt)) * 1000,
        timeToFirstTokenMs: Number(pe[1]),
        peakRssBytes: hwm,
        text: stdout.trim().slice(0, 60),
      });
    });
  });
}

/** One smolvlm-node run in a fresh process, so peak RSS is its own. */
function runOurs() {
  const code = `
    import { loadModel } from './dist/index.js';
    const vlm = await loadModel({ model: ${JSON.stringify(files.model)}, mmproj: ${JSON.stringify(files.mmproj)}, threads: ${threads}, contextSize: ${CTX} });
    const r = await vlm.generate({ messages: [{ role: 'user', content: [{ type: 'image', image: ${JSON.stringify(image)} }, { type: 'text', text: ${JSON.stringify(PROMPT)} }] }], maxTokens: ${tokens}, ignoreEos: true });
    await vlm.dispose();
    console.log(JSON.stringify({ ...r.timings, usage: r.usage, text: r.text.trim().slice(0, 60), maxRss: process.resourceUsage().maxRSS * 1024 }));
  `;
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: new URL('..', import.meta.url).pathname });
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (c) => {
      if (c !== 0) return reject(new Error(`smolvlm-node run failed (${c}): ${err}`));
      const r = JSON.parse(out.trim().split('\n').pop());
      resolve({
        imageEncodeMs: r.imageEncodeMs,
        promptEvalMs: r.promptEvalMs,
        promptTokens: r.usage.promptTokens,
        tokensPerSecond: r.tokensPerSecond,
        timeToFirstTokenMs: r.timeToFirstTokenMs,
        peakRssBytes: r.maxRss,
        completionTokens: r.usage.completionTokens,
        text: r.text,
      });
    });
  });
}

const best = (rs, key, lower) => rs.map((r) => r[key]).reduce((a, b) => (lower ? Math.min(a, b) : Math.max(a, b)));
console.error(`model ${values.size}, ${threads} threads, ${tokens} tokens, CPU variant ${backendInfo().cpuVariant}; ${runs} runs each, interleaved, best kept`);
const cliRuns = [], ourRuns = [];
await runCli(); // warm the page cache
for (let i = 0; i < runs; i++) {
  cliRuns.push(await runCli());
  ourRuns.push(await runOurs());
}
const metrics = [
  ['imageEncodeMs', true, 'image encode (ms)'],
  ['promptEvalMs', true, 'prompt eval (ms)'],
  ['tokensPerSecond', false, 'generation (tok/s)'],
  ['timeToFirstTokenMs', true, 'time to first token (ms)'],
  ['peakRssBytes', true, 'peak RSS (bytes)'],
];
const rows = metrics.map(([key, lower, label]) => {
  const ours = best(ourRuns, key, lower), cli = best(cliRuns, key, lower);
  return { metric: label, smolvlmNode: ours, llamaMtmdCli: cli, ratio: ours / cli };
});
console.table(rows.map((r) => ({ ...r, smolvlmNode: +r.smolvlmNode.toFixed(1), llamaMtmdCli: +r.llamaMtmdCli.toFixed(1), ratio: +r.ratio.toFixed(3) })));
console.error(`same text: ${ourRuns[0].text === cliRuns[0].text.slice(0, ourRuns[0].text.length)} (${JSON.stringify(ourRuns[0].text)})`);
if (values.json) {
  writeFileSync(values.json, JSON.stringify({ date: new Date().toISOString(), size: values.size, threads, tokens, cpuVariant: backendInfo().cpuVariant, rows, cliRuns, ourRuns }, null, 2));
}
