#!/usr/bin/env node
// Memory table: what SmolVLM-256M, -500M and SmolVLM-Instruct (2.2B) take under smolvlm-node,
// with Q8_0 and F16 weights at contexts of 2048, 4096 and 8192 tokens, from llama.cpp's own
// allocation-free dry run (estimateMemory). The models are synthetic GGUF pairs with the real
// shapes (test/fixtures/synth.mjs) written `dataless`: header and tensor infos, then a sparse,
// all-zero body (the dry run never reads tensor data), so even the 2.2B costs nothing to make.
//
// Prints Markdown tables (docs/memory.md is made from them); `--svg FILE` also writes the
// bar chart of docs/memory.svg, `--json FILE` the raw numbers.
//   node bench/memory-table.mjs [--svg docs/memory.svg] [--json out.json] [--threads 2]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { backendInfo, estimateMemory } from '../dist/index.js';
import { readGGUF } from '../test/fixtures/gguf.mjs';
import { ensureFixture } from '../test/fixtures/synth.mjs';

const { values } = parseArgs({
  options: {
    svg: { type: 'string' },
    json: { type: 'string' },
    threads: { type: 'string', default: '2' },
  },
});
const THREADS = Number(values.threads);

/**
 * The models, with Hugging Face's published "minimum GPU RAM to run inference on one image"
 * for the BF16 transformers checkpoints (model cards / SmolVLM blog posts): not a llama.cpp
 * figure, shown only for scale.
 */
const MODELS = [
  { size: '256m', name: 'SmolVLM-256M', trained: 8192, hf: { label: '< 1 GB', gb: 1.0, under: true } },
  { size: '500m', name: 'SmolVLM-500M', trained: 8192, hf: { label: '1.23 GB', gb: 1.23 } },
  { size: '2.2b', name: 'SmolVLM 2.2B', trained: 16384, hf: { label: '5.02 GB', gb: 5.02 } },
];
const TYPES = [{ type: 'q8_0', label: 'Q8_0' }, { type: 'f16', label: 'F16' }];
const CONTEXTS = [2048, 4096, 8192];
const IMAGE = { width: 1024, height: 768 };
const BUDGETS = ['1GB', '2GB', '4GB'];
// Everything else is the library's default: batchSize 2048, ubatchSize 512, flashAttention 'auto'.
const BASE = { threads: THREADS, parallel: 1, kvCacheType: 'f16', gpu: false };

const MiB = 1024 ** 2;
const mib = (b) => (b / MiB).toFixed(2);
const gb = (b) => (b / 1e9).toFixed(2);

// ---------------------------------------------------------------------------
// Image tokens, from the projector's own metadata
// ---------------------------------------------------------------------------

/**
 * The tokens one W x H image costs, computed like mtmd's idefics3 preprocessing
 * (mtmd_image_preprocessor_idefics3::preprocess in tools/mtmd/mtmd-image.cpp, taken when the
 * projector has a preproc size and no custom token limits): the longest side is resized to
 * clip.vision.preproc_image_size (up or down), the other side keeps the aspect ratio (truncated,
 * then rounded up to even), both are rounded up to whole tiles of clip.vision.image_size, and
 * every tile plus one overview tile costs (floor(image_size / patch_size) / scale_factor)^2
 * embedding tokens. Separator tokens come on top: `\n\n<fake_token_around_image><global-img>`
 * ... `<fake_token_around_image>` around the overview, `<fake_token_around_image><row_R_col_C>`
 * before each tile, `\n` between rows (tools/mtmd/mtmd.cpp); 30 tokens for 13 tiles with the
 * 256M/500M vocabulary, where those are single tokens.
 */
function imageTokens(meta, width, height) {
  const u = (k) => meta.get(k).value;
  const tile = u('clip.vision.image_size');
  const longest = u('clip.vision.preproc_image_size');
  const perTile = (Math.floor(tile / u('clip.vision.patch_size')) / u('clip.vision.projector.scale_factor')) ** 2;
  const aspect = width / height;
  let w, h;
  if (width >= height) {
    w = longest;
    h = Math.trunc(longest / aspect);
    h += h % 2;
  } else {
    h = longest;
    w = Math.trunc(longest * aspect);
    w += w % 2;
  }
  const gridX = Math.ceil(w / tile);
  const gridY = Math.ceil(h / tile);
  const tiles = gridX * gridY + 1;
  return { tile, longest, resized: `${w}x${h}`, grid: `${gridX}x${gridY}`, tiles, perTile, tokens: tiles * perTile };
}

// ---------------------------------------------------------------------------
// Estimates
// ---------------------------------------------------------------------------

const t0 = performance.now();
let calls = 0;
let estimateMs = 0;
async function estimate(files, options) {
  const t = performance.now();
  const e = await estimateMemory({ ...BASE, model: files.model, mmproj: files.mmproj, ...options });
  estimateMs += performance.now() - t;
  calls++;
  return e.totals;
}

/**
 * The context `memoryLimit` settles on when the model's whole trained context is asked for:
 * the same search as fitContext() in lib/fit.ts (largest multiple of 256 whose dry run
 * fits, at least 512), run here through the public estimateMemory.
 */
async function fitContext(files, wanted, limit) {
  const at = async (ctx) => (await estimate(files, { contextSize: ctx })).all;
  const full = await at(wanted);
  if (full <= limit) return wanted;
  const low = 512;
  const small = await at(low);
  if (small > limit) return null;
  const perToken = (full - small) / (wanted - low);
  let ctx = Math.min(wanted, Math.floor((low + (limit - small) / perToken) / 256) * 256);
  while (ctx > low && (await at(ctx)) > limit) ctx -= 256;
  return Math.max(ctx, low);
}

const tFixtures = performance.now();
const fixtures = {};
for (const m of MODELS) {
  for (const { type } of TYPES) fixtures[`${m.size}/${type}`] = await ensureFixture({ size: m.size, type, dataless: true });
}
const fixtureMs = performance.now() - tFixtures;

const rows = [];
const images = {};
for (const m of MODELS) {
  images[m.size] = imageTokens((await readGGUF(fixtures[`${m.size}/q8_0`].mmproj)).metadata, IMAGE.width, IMAGE.height);
  for (const { type, label } of TYPES) {
    const files = fixtures[`${m.size}/${type}`];
    for (const ctx of CONTEXTS) {
      const totals = await estimate(files, { contextSize: ctx });
      const kvQ8 = ctx === 4096 ? await estimate(files, { contextSize: ctx, kvCacheType: 'q8_0' }) : undefined;
      rows.push({ model: m, type: label, ctx, totals, kvQ8 });
    }
  }
}
// What moves the compute buffers: the micro-batch (the logits of a ubatch, n_vocab x ubatch
// floats, are most of it) and flash attention (without it the attention scores grow with the context).
const UBATCHES = [512, 256, 128];
const computes = [];
for (const m of MODELS) {
  const files = fixtures[`${m.size}/q8_0`];
  const byUbatch = {};
  for (const ub of UBATCHES) byUbatch[ub] = (await estimate(files, { contextSize: 4096, ubatchSize: ub })).compute;
  const noFa = {};
  for (const ctx of CONTEXTS) noFa[ctx] = (await estimate(files, { contextSize: ctx, flashAttention: false })).compute;
  computes.push({ model: m, byUbatch, noFa });
}

const fits = [];
for (const m of MODELS) {
  for (const { type, label } of TYPES) {
    const byBudget = {};
    for (const b of BUDGETS) byBudget[b] = await fitContext(fixtures[`${m.size}/${type}`], m.trained, Number.parseFloat(b) * 1e9);
    fits.push({ model: m, type: label, byBudget });
  }
}
const totalMs = performance.now() - t0;

// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------

const info = backendInfo();
const out = [];
const table = (head, body) => {
  out.push(`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (const r of body) out.push(`| ${r.join(' | ')} |`);
  out.push('');
};

out.push(`Devices: ${info.devices.map((d) => `${d.name} (${d.description})`).join(', ')}; CPU variant ${info.cpuVariant}.`);
out.push(`Settings: parallel 1, KV cache f16, threads ${THREADS}, batchSize 2048 / ubatchSize 512 (defaults), flashAttention 'auto', gpu false.`);
out.push('');
out.push(`### One ${IMAGE.width}x${IMAGE.height} image`);
out.push('');
table(['model', 'tile (px)', 'longest edge (px)', 'resized to', 'grid', 'tiles (+1 overview)', 'tokens per tile', 'image tokens'],
  MODELS.map((m) => {
    const i = images[m.size];
    return [m.name, i.tile, i.longest, i.resized, i.grid, i.tiles, i.perTile, `**${i.tokens}**`];
  }));

out.push('### Memory (MiB; total also in GB = 10^9 bytes)');
out.push('');
table(['model', 'weights', 'context', 'weights', 'KV cache', 'compute', 'projector', 'total', 'total GB', 'tokens left after one image', 'HF figure (BF16, one image)'],
  rows.map((r) => [
    r.model.name, r.type, r.ctx, mib(r.totals.model), mib(r.totals.context), mib(r.totals.compute), mib(r.totals.projector),
    `**${mib(r.totals.all)}**`, gb(r.totals.all), r.ctx - images[r.model.size].tokens, r.model.hf.label,
  ]));

out.push("### kvCacheType 'q8_0' at context 4096 (MiB)");
out.push('');
table(['model', 'weights', 'KV cache f16', 'KV cache q8_0', 'total f16 KV', 'total q8_0 KV', 'saved'],
  rows.filter((r) => r.kvQ8).map((r) => [
    r.model.name, r.type, mib(r.totals.context), mib(r.kvQ8.context), mib(r.totals.all), mib(r.kvQ8.all),
    `${mib(r.totals.all - r.kvQ8.all)} (${(100 * (1 - r.kvQ8.all / r.totals.all)).toFixed(1)}%)`,
  ]));

out.push('### Compute buffers (MiB, Q8_0 weights)');
out.push('');
table(['model', ...UBATCHES.map((u) => `ubatchSize ${u}, ctx 4096`), ...CONTEXTS.map((c) => `flashAttention false, ctx ${c}`)],
  computes.map((c) => [c.model.name, ...UBATCHES.map((u) => mib(c.byUbatch[u])), ...CONTEXTS.map((x) => mib(c.noFa[x]))]));

out.push('### Context memoryLimit picks, asking for the trained context (8192 for 256M/500M, 16384 for 2.2B)');
out.push('');
table(['model', 'weights', ...BUDGETS.map((b) => `memoryLimit '${b}'`)],
  fits.map((f) => [f.model.name, f.type, ...BUDGETS.map((b) => (f.byBudget[b] === null ? 'does not fit' : f.byBudget[b]))]));

out.push(`Timing: fixtures ${(fixtureMs / 1000).toFixed(2)} s; ${calls} dry runs in ${(estimateMs / 1000).toFixed(2)} s ` +
  `(${(estimateMs / calls).toFixed(0)} ms each); total ${(totalMs / 1000).toFixed(2)} s.`);
console.log(out.join('\n'));

// ---------------------------------------------------------------------------
// Chart (SVG, no dependencies)
// ---------------------------------------------------------------------------

function chart(bars) {
  const CATS = [
    { key: 'model', label: 'Weights', color: '#4e79a7' },
    { key: 'context', label: 'KV cache (f16)', color: '#f28e2b' },
    { key: 'compute', label: 'Compute buffers', color: '#59a14f' },
    { key: 'projector', label: 'Projector (weights + compute)', color: '#b07aa1' },
  ];
  const W = 820, H = 480;
  const pad = { left: 70, right: 250, top: 56, bottom: 92 };
  const plotW = W - pad.left - pad.right, plotH = H - pad.top - pad.bottom;
  const maxGb = Math.max(...bars.map((b) => b.totals.all / 1e9), ...MODELS.map((m) => m.hf.gb));
  const yMax = Math.ceil(maxGb);
  const y = (v) => pad.top + plotH - (v / yMax) * plotH;
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const el = [];
  el.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`);
  el.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  el.push(`<text x="${pad.left}" y="24" font-size="15" font-weight="bold">smolvlm-node memory per model at contextSize 4096</text>`);
  el.push(`<text x="${pad.left}" y="42" fill="#555">llama.cpp dry run (estimateMemory), CPU, parallel 1, f16 KV cache, default batch sizes</text>`);
  for (let v = 0; v <= yMax; v++) {
    el.push(`<line x1="${pad.left}" y1="${y(v)}" x2="${pad.left + plotW}" y2="${y(v)}" stroke="${v ? '#e3e3e3' : '#333'}"/>`);
    el.push(`<text x="${pad.left - 8}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
  }
  el.push(`<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${pad.top + plotH}" stroke="#333"/>`);
  el.push(`<text transform="translate(20 ${pad.top + plotH / 2}) rotate(-90)" text-anchor="middle">Memory (GB, 10^9 bytes)</text>`);
  const groupW = plotW / MODELS.length;
  const barW = 46, gap = 14;
  MODELS.forEach((m, gi) => {
    const gx = pad.left + gi * groupW;
    const mine = bars.filter((b) => b.model === m);
    const x0 = gx + (groupW - (mine.length * barW + (mine.length - 1) * gap)) / 2;
    mine.forEach((b, bi) => {
      const x = x0 + bi * (barW + gap);
      let acc = 0;
      for (const c of CATS) {
        const v = b.totals[c.key] / 1e9;
        el.push(`<rect x="${x}" y="${y(acc + v)}" width="${barW}" height="${y(acc) - y(acc + v)}" fill="${c.color}">` +
          `<title>${esc(`${m.name} ${b.type}: ${c.label} ${mib(b.totals[c.key])} MiB`)}</title></rect>`);
        acc += v;
      }
      el.push(`<text x="${x + barW / 2}" y="${y(acc) - 5}" text-anchor="middle" font-size="11">${gb(b.totals.all)}</text>`);
      el.push(`<text x="${x + barW / 2}" y="${pad.top + plotH + 16}" text-anchor="middle">${b.type}</text>`);
    });
    // Hugging Face's published figure for this model, as a dashed marker across the group.
    const hx1 = x0 - 8, hx2 = x0 + mine.length * barW + (mine.length - 1) * gap + 8;
    el.push(`<line x1="${hx1}" y1="${y(m.hf.gb)}" x2="${hx2}" y2="${y(m.hf.gb)}" stroke="#d62728" stroke-width="2" stroke-dasharray="6 4"/>`);
    el.push(`<text x="${gx + groupW / 2}" y="${pad.top + plotH + 36}" text-anchor="middle" font-weight="bold">${esc(m.name)}</text>`);
    el.push(`<text x="${gx + groupW / 2}" y="${pad.top + plotH + 52}" text-anchor="middle" fill="#d62728" font-size="11">HF: ${esc(m.hf.label)}</text>`);
  });
  el.push(`<text x="${pad.left + plotW / 2}" y="${H - 14}" text-anchor="middle">Model and weight type</text>`);
  const lx = pad.left + plotW + 30;
  let ly = pad.top + 10;
  el.push(`<text x="${lx}" y="${ly}" font-weight="bold">Stacked by category</text>`);
  for (const c of [...CATS].reverse()) {
    ly += 22;
    el.push(`<rect x="${lx}" y="${ly - 11}" width="14" height="14" fill="${c.color}"/>`);
    el.push(`<text x="${lx + 22}" y="${ly}">${esc(c.label)}</text>`);
  }
  ly += 26;
  el.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 14}" y2="${ly - 4}" stroke="#d62728" stroke-width="2" stroke-dasharray="4 2"/>`);
  el.push(`<text x="${lx + 22}" y="${ly}">Hugging Face: min. GPU RAM,</text>`);
  el.push(`<text x="${lx + 22}" y="${ly + 15}">one image, BF16 transformers</text>`);
  el.push(`<text x="${lx + 22}" y="${ly + 30}">(for scale; not llama.cpp)</text>`);
  el.push(`<text x="${lx}" y="${ly + 62}" fill="#555">Totals above bars in GB.</text>`);
  el.push('</svg>');
  return `${el.join('\n')}\n`;
}

if (values.svg) writeFileSync(values.svg, chart(rows.filter((r) => r.ctx === 4096)));
if (values.json) {
  writeFileSync(values.json, `${JSON.stringify({
    settings: { ...BASE, image: IMAGE }, backend: { cpuVariant: info.cpuVariant, devices: info.devices.map((d) => d.name) },
    images, rows: rows.map((r) => ({ model: r.model.name, type: r.type, ctx: r.ctx, totals: r.totals, kvQ8: r.kvQ8 })),
    computes: computes.map((c) => ({ model: c.model.name, byUbatch: c.byUbatch, noFlashAttention: c.noFa })),
    fits: fits.map((f) => ({ model: f.model.name, type: f.type, ...f.byBudget })),
  }, null, 2)}\n`);
}
