#!/usr/bin/env node
// Benchmark: smolvlm-node against llama.cpp's own llama-mtmd-cli, same machine, same run, same
// inputs (the 256M-shape synthetic model, one 1024x768 image = 13 tiles, greedy), runs
// interleaved (ABAB...). Prints both sides and the ratios (ours / theirs); `--json FILE` writes them.
//   node bench/bench.mjs [--size 256m|tiny] [--tokens 64] [--threads N] [--runs N] [--json out.json]
//        [--vs-native] [--binary path/smolvlm.node ...] [--image WxH] [--no-warmup]
// Without --vs-native the CLI is the one built beside the addon (SMOLVLM_BUILD_REFERENCE=1), given
// only the CPU variant our loader chose: the very same kernels, so the ratio is the library's own
// overhead; best of 2 runs kept. With --vs-native the CLI is llama.cpp built as a user builds it
// for this machine (-march=native, OpenMP; bench/native.mjs builds it once into
// ~/.cache/smolvlm-node/native-ref), which is what a prebuilt package competes with; medians of 5
// runs. `--binary` (repeatable) benchmarks other builds of the addon in the same interleaved run.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { backendInfo } from '../dist/index.js';
import { ensureFixture } from '../test/fixtures/synth.mjs';
import { referenceCli, tempDir } from '../test/helpers.mjs';
import { nativeReference } from './native.mjs';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256m' },
    tokens: { type: 'string', default: '64' },
    threads: { type: 'string', default: String(availableParallelism()) },
    runs: { type: 'string' },
    json: { type: 'string' },
    'vs-native': { type: 'boolean' },
    binary: { type: 'string', multiple: true },
    image: { type: 'string', default: '1024x768' },
    'no-warmup': { type: 'boolean' },
  },
});
const vsNative = Boolean(values['vs-native']);
const tokens = Number(values.tokens), threads = Number(values.threads), runs = Number(values.runs ?? (vsNative ? 5 : 2));
const PROMPT = 'Describe this image in detail.';
const CTX = 4096;
const native = vsNative ? await nativeReference() : null;
const cliPath = native ? native.cli : referenceCli();
// ours: the addon the loader finds (build/Release), or each --binary
const builds = (values.binary ?? [null]).map((b) => (b ? resolve(b) : null));

const files = await ensureFixture({ size: values.size });
// the synthetic picture's size: SmolVLM's preprocessing first scales the longest side to 2048 (4
// tiles of 512), so 1024x768 is 4x3 tiles + the overview (13) and 2048x512 is 4x1 + 1 (5, the
// fewest; the same kernels in 40 % of the time, for a loaded machine)
const [w, h] = values.image.split('x').map(Number);
if (!(w > 0 && h > 0)) throw new Error(`--image ${values.image}: expected WxH, e.g. 1024x768`);
const image = join(tempDir(), `bench-${w}x${h}.png`);
{
  const px = Buffer.alloc(w * h * 3);
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
function runCli(cli) {
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
function runOurs(binary) {
  const code = `
    import { loadModel } from './dist/index.js';
    const vlm = await loadModel({ model: ${JSON.stringify(files.model)}, mmproj: ${JSON.stringify(files.mmproj)}, threads: ${threads}, contextSize: ${CTX} });
    const r = await vlm.generate({ messages: [{ role: 'user', content: [{ type: 'image', image: ${JSON.stringify(image)} }, { type: 'text', text: ${JSON.stringify(PROMPT)} }] }], maxTokens: ${tokens}, ignoreEos: true });
    await vlm.dispose();
    console.log(JSON.stringify({ ...r.timings, usage: r.usage, text: r.text.trim().slice(0, 60), maxRss: process.resourceUsage().maxRSS * 1024 }));
  `;
  return new Promise((resolve, reject) => {
    const env = binary ? { ...process.env, SMOLVLM_BINARY: binary } : process.env;
    const p = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: new URL('..', import.meta.url).pathname, env });
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

const best = (xs, lower) => xs.reduce((a, b) => (lower ? Math.min(a, b) : Math.max(a, b)));
const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b), m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const stat = (rs, key, lower) => (vsNative ? median(rs.map((r) => r[key])) : best(rs.map((r) => r[key]), lower));
const load = () => loadavg().map((x) => +x.toFixed(2));
const cliName = vsNative ? 'native llama-mtmd-cli' : 'llama-mtmd-cli';
const label = (b) => (b ? b : 'build/Release');
const started = { at: new Date().toISOString(), load: load() };
console.error(`model ${values.size}, image ${w}x${h}, ${threads} threads, ${tokens} tokens, CPU variant ${backendInfo().cpuVariant}, CPU ${cpus()[0]?.model}; ` +
  `${runs} runs each, interleaved, ${vsNative ? 'medians' : 'best kept'}; CLI ${cliPath}${native?.amxGuard ? ' (rebuilt without AMX: the native build died of SIGILL)' : ''}; load ${started.load.join(' ')}`);
const cliRuns = [], ourRuns = builds.map(() => []);
if (!values['no-warmup']) await runCli(cliPath); // warm the page cache
const brief = (r) => `encode ${r.imageEncodeMs.toFixed(0)} ms, TTFT ${r.timeToFirstTokenMs.toFixed(0)} ms, ${r.tokensPerSecond.toFixed(1)} tok/s`;
for (let i = 0; i < runs; i++) {
  cliRuns.push(await runCli(cliPath));
  console.error(`  ${cliName}: ${brief(cliRuns.at(-1))}`);
  for (const [j, b] of builds.entries()) {
    ourRuns[j].push(await runOurs(b));
    console.error(`  ${label(b)}: ${brief(ourRuns[j].at(-1))}`);
  }
  console.error(`run ${i + 1}/${runs} done, load ${load().join(' ')}`);
  // what has been measured so far survives an interrupted run
  if (values.json) writeFileSync(values.json, JSON.stringify({ started, partial: true, cliRuns, ourRuns }, null, 2));
}
const finished = { at: new Date().toISOString(), load: load() };
const metrics = [
  ['imageEncodeMs', true, 'image encode (ms)'],
  ['promptEvalMs', true, 'prompt eval (ms)'],
  ['tokensPerSecond', false, 'generation (tok/s)'],
  ['timeToFirstTokenMs', true, 'time to first token (ms)'],
  ['peakRssBytes', true, 'peak RSS (bytes)'],
];
const rows = builds.flatMap((b, j) => metrics.map(([key, lower, metric]) => {
  const ours = stat(ourRuns[j], key, lower), cli = stat(cliRuns, key, lower);
  return { metric, ...(builds.length > 1 ? { build: label(b) } : {}), smolvlmNode: ours, [cliName]: cli, ratio: ours / cli };
}));
console.table(rows.map((r) => ({ ...r, smolvlmNode: +r.smolvlmNode.toFixed(1), [cliName]: +r[cliName].toFixed(1), ratio: +r.ratio.toFixed(3) })));
for (const [j, b] of builds.entries()) {
  const t = ourRuns[j][0].text;
  console.error(`${label(b)}: same text as the CLI: ${t === cliRuns[0].text.slice(0, t.length)} (${JSON.stringify(t)})`);
}
console.error(`load (1, 5, 15 min): ${started.load.join(' ')} at start, ${finished.load.join(' ')} at the end`);
if (values.json) {
  writeFileSync(values.json, JSON.stringify({
    started, finished, size: values.size, image: `${w}x${h}`, threads, tokens, runs, stat: vsNative ? 'median' : 'best', cpu: cpus()[0]?.model,
    cpuVariant: backendInfo().cpuVariant, cli: cliPath, native, builds: builds.map(label), rows, cliRuns, ourRuns,
  }, null, 2));
}
