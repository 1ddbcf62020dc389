#!/usr/bin/env node
// The plot of docs/benchmarks.md's HTTP load section: aggregate tokens/s and p99 latency against
// concurrency, HTTP and direct calls, from the JSON that `bench/server.mjs --json` writes.
//   node bench/plot-server.mjs results.json [more.json ...] --out docs/img/server-load.svg
// Several files (e.g. one per model) become one row of panels each, titled by model size and detail.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' } } });
if (!values.out || positionals.length === 0) throw new Error('usage: node bench/plot-server.mjs results.json... --out file.svg');
const sets = positionals.map((f) => JSON.parse(readFileSync(f, 'utf8')));

const panelW = 340, panelH = 200, rowH = 280, lefts = [70, 500];
const W = 860, H = 80 + sets.length * rowH + 20;
const colors = { http: '#d62728', direct: '#1f77b4' };
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const el = [];
el.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`);
el.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
el.push(`<text x="${lefts[0]}" y="24" font-size="15" font-weight="bold">${esc(`smolvlm serve (HTTP, ${sets[0].client === 'http' ? 'node:http' : 'openai'} client) against direct library calls`)}</text>`);
el.push(`<text x="${lefts[0]}" y="42" fill="#555">${esc(`streamed chat completions with one image, ${sets[0].tokens} tokens each, parallel ${sets[0].parallel}, ${sets[0].threads} thread${sets[0].threads === 1 ? '' : 's'}`)}</text>`);

const levels = [...new Set(sets.flatMap((s) => s.results.map((r) => r.concurrency)))].sort((a, b) => a - b);
function panel(s, top, left, title, value, unit) {
  const max = Math.max(...s.results.map(value)) * 1.15;
  const x = (c) => left + (levels.length === 1 ? panelW / 2 : (levels.indexOf(c) / (levels.length - 1)) * (panelW - 40) + 20);
  const y = (v) => top + panelH - (v / max) * panelH;
  el.push(`<text x="${left}" y="${top - 10}" font-weight="bold">${esc(title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    el.push(`<line x1="${left}" y1="${y(v)}" x2="${left + panelW}" y2="${y(v)}" stroke="${i ? '#e3e3e3' : '#333'}"/>`);
    el.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v >= 100 ? v.toFixed(0) : v.toFixed(1)}</text>`);
  }
  el.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + panelH}" stroke="#333"/>`);
  for (const c of levels) el.push(`<text x="${x(c)}" y="${top + panelH + 16}" text-anchor="middle">${c}</text>`);
  el.push(`<text x="${left + panelW / 2}" y="${top + panelH + 34}" text-anchor="middle">concurrent clients</text>`);
  el.push(`<text transform="translate(${left - 48} ${top + panelH / 2}) rotate(-90)" text-anchor="middle">${esc(unit)}</text>`);
  for (const side of ['http', 'direct']) {
    const pts = s.results.filter((r) => r.side === side).sort((a, b) => a.concurrency - b.concurrency);
    el.push(`<polyline fill="none" stroke="${colors[side]}" stroke-width="2" points="${pts.map((r) => `${x(r.concurrency)},${y(value(r))}`).join(' ')}"/>`);
    for (const r of pts) el.push(`<circle cx="${x(r.concurrency)}" cy="${y(value(r))}" r="3.5" fill="${colors[side]}"/>`);
  }
}
/** What the run's caches could serve: a picture per request (the bench now), one picture, or the earlier version's flags. */
function caseLabel(s) {
  if (s.pictures !== undefined) return s.pictures === 1 ? ', one picture, caches on' : ', fresh encodes';
  return s.promptCache ? ', prompt cache on' : s.promptCache === false ? ', fresh encodes (caches off)' : '';
}
sets.forEach((s, k) => {
  const top = 90 + k * rowH, model = `${s.size} model${s.detail === 'low' ? ', one tile' : ''}${caseLabel(s)}`;
  panel(s, top, lefts[0], `${model}: aggregate throughput`, (r) => r.tokensPerSecond, 'generated tokens/s');
  panel(s, top, lefts[1], `${model}: p99 latency`, (r) => r.latencyMs.p99 / 1000, 'seconds');
});
let lx = lefts[0];
for (const side of ['http', 'direct']) {
  el.push(`<line x1="${lx}" y1="${H - 16}" x2="${lx + 24}" y2="${H - 16}" stroke="${colors[side]}" stroke-width="2"/>`);
  el.push(`<text x="${lx + 30}" y="${H - 12}">${side === 'http' ? 'HTTP (smolvlm serve)' : 'direct vlm.stream()'}</text>`);
  lx += 220;
}
el.push('</svg>');
writeFileSync(values.out, `${el.join('\n')}\n`);
