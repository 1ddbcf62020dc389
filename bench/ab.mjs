#!/usr/bin/env node
// Before/after benchmark of two (or more) built checkouts of this library on the same inputs (the
// 256M-shape synthetic model, one 1024x768 image = 13 tiles, greedy, ignoreEos), for a shared
// machine: the checkouts run interleaved, one fresh process per run (A B A B ...), and each
// round's figures are divided by that round's first checkout's, so the ratios compare runs made
// seconds apart under the same load. The median of the per-round ratios is reported, with the
// load average before each round.
//   node bench/ab.mjs --dir /path/before --dir /path/after [--rounds 4] [--threads 2] [--tokens 32]
//                     [--size 256m] [--json out.json]
// Each --dir needs dist/ and build/Release (npm run build there).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { ensureFixture } from '../test/fixtures/synth.mjs';
import { tempDir } from '../test/helpers.mjs';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', multiple: true },
    rounds: { type: 'string', default: '4' },
    threads: { type: 'string', default: '2' },
    tokens: { type: 'string', default: '32' },
    size: { type: 'string', default: '256m' },
    json: { type: 'string' },
  },
});
const dirs = (values.dir ?? []).map((d) => resolve(d));
if (dirs.length < 2) throw new Error('give at least two --dir checkouts (the first is the baseline)');
const rounds = Number(values.rounds), threads = Number(values.threads), tokens = Number(values.tokens);
const PROMPT = 'Describe this image in detail.';
const CTX = 4096;

const files = await ensureFixture({ size: values.size });
const image = join(tempDir(), 'ab-1024x768.png');
{
  const w = 1024, h = 768, px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = (y * w + x) * 3;
    px[i] = (x * 255) / w; px[i + 1] = (y * 255) / h; px[i + 2] = ((x ^ y) & 0xff);
  }
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(image);
}

const env = { ...process.env };
delete env.SMOLVLM_BINARY; // each checkout loads its own build/Release

/** One load + generate + dispose in a fresh process of checkout `dir`, with its own dist/ and addon. */
function run(dir) {
  const code = `
    import { loadModel } from './dist/index.js';
    const t0 = performance.now();
    const vlm = await loadModel({ model: ${JSON.stringify(files.model)}, mmproj: ${JSON.stringify(files.mmproj)}, threads: ${threads}, contextSize: ${CTX} });
    const t1 = performance.now();
    const r = await vlm.generate({ messages: [{ role: 'user', content: [{ type: 'image', image: ${JSON.stringify(image)} }, { type: 'text', text: ${JSON.stringify(PROMPT)} }] }], maxTokens: ${tokens}, ignoreEos: true });
    const t2 = performance.now();
    await vlm.dispose();
    console.log(JSON.stringify({ loadMs: t1 - t0, generateMs: t2 - t1, ...r.timings, completionTokens: r.usage.completionTokens, text: r.text }));
  `;
  return new Promise((ok, fail) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: dir, env });
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (c) => (c === 0 ? ok(JSON.parse(out.trim().split('\n').pop())) : fail(new Error(`${dir} failed (${c}): ${err.slice(-2000)}`))));
  });
}

const METRICS = [
  ['loadMs', 'load (ms)'],
  ['generateMs', 'generate call (ms)'],
  ['imageEncodeMs', 'image encode (ms)'],
  ['promptEvalMs', 'prompt eval (ms)'],
  ['timeToFirstTokenMs', 'time to first token (ms)'],
  ['tokensPerSecond', 'generation (tok/s)'],
];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

console.error(`${dirs.length} checkouts, ${rounds} rounds, model ${values.size}, ${threads} threads, ${tokens} tokens`);
await run(dirs[0]); // warm the page cache
const results = dirs.map(() => []);
const loads = [];
for (let i = 0; i < rounds; i++) {
  loads.push(loadavg()[0]);
  for (let j = 0; j < dirs.length; j++) {
    results[j].push(await run(dirs[j]));
    console.error(`round ${i + 1} ${dirs[j]}: ${JSON.stringify(results[j][i], (k, v) => (typeof v === 'number' ? +v.toFixed(1) : v))}`);
  }
}
const sameText = results.every((rs) => rs.every((r) => r.text === results[0][0].text));
const rows = METRICS.map(([key, label]) => {
  const row = { metric: label, [`median ${1}`]: +median(results[0].map((r) => r[key])).toFixed(1) };
  for (let j = 1; j < dirs.length; j++) {
    row[`median ${j + 1}`] = +median(results[j].map((r) => r[key])).toFixed(1);
    row[`ratio ${j + 1}/1`] = +median(results[j].map((r, i) => r[key] / results[0][i][key])).toFixed(3);
  }
  return row;
});
dirs.forEach((d, j) => console.error(`${j + 1}: ${d}`));
console.table(rows);
console.error(`load average (1 min) before each round: ${loads.map((l) => l.toFixed(1)).join(', ')}; same text everywhere: ${sameText}`);
if (values.json) writeFileSync(values.json, JSON.stringify({ date: new Date().toISOString(), dirs, threads, tokens, size: values.size, loads, sameText, rows, results }, null, 2));
