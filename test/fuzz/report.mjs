// The fuzz report: cases per class x outcome, failure signatures, costly cases, the JSON file.

import { OUTCOMES } from './classify.mjs';

/** counts[class][outcome] */
export function countTable(results, classes) {
  const counts = {};
  for (const c of classes) counts[c] = Object.fromEntries(OUTCOMES.map((o) => [o, 0]));
  for (const r of results) counts[r.cls][r.outcome]++;
  return counts;
}

/** Column order of the table. */
const DISPLAY = ['typed', 'success', 'crash', 'hang', 'untyped', 'wrong', 'reached', 'skipped'];

/** The table as text; the last three columns only when some case had that outcome. */
export function formatTable(counts) {
  const always = DISPLAY.slice(0, 5);
  const classes = Object.keys(counts);
  const cols = DISPLAY.filter((o) => always.includes(o) || classes.some((c) => counts[c][o] > 0));
  const rows = classes.map((c) => [c, ...cols.map((o) => counts[c][o]), cols.reduce((s, o) => s + counts[c][o], 0)]);
  const total = ['total', ...cols.map((o) => classes.reduce((s, c) => s + counts[c][o], 0)), rows.reduce((s, r) => s + r.at(-1), 0)];
  const all = [['class', ...cols, 'cases'], ...rows, total];
  const widths = all[0].map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) => `| ${r.map((v, i) => (i === 0 ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i]))).join(' | ')} |`;
  return [line(all[0]), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...all.slice(1).map(line)].join('\n');
}

/** A failure's signature: what failed (the case kind), how, where, and why (assert, signal, error). */
export function signatureOf(r) {
  const reason = String(r.reason)
    .replace(/\/tmp\/smolvlm-fuzz-\w+\/?/g, '<tmp>/')
    .replace(/(\/\/[^/\s:@]+|\]):\d+/g, '$1:<port>');
  return `${r.cls} | ${r.kind} | ${r.outcome} in ${r.phase} | ${reason}`;
}

/** Distinct failure signatures, most frequent first, with example case ids. */
export function signatures(failures) {
  const by = new Map();
  for (const r of failures) {
    const s = signatureOf(r);
    const entry = by.get(s) ?? { signature: s, outcome: r.outcome, cls: r.cls, kind: r.kind, phase: r.phase, reason: r.reason, count: 0, cases: [] };
    entry.count++;
    if (entry.cases.length < 5) entry.cases.push(r.id);
    by.set(s, entry);
  }
  return [...by.values()].sort((a, b) => a.cls.localeCompare(b.cls) || b.count - a.count || a.signature.localeCompare(b.signature));
}

/** Cases that cost the most memory or time (the defaults' cost is itself a finding). */
export function costly(results, n = 10) {
  return results
    .filter((r) => r.detail?.maxRssMB > 1024 || r.wallMs > 5000)
    .sort((a, b) => (b.detail?.maxRssMB ?? 0) - (a.detail?.maxRssMB ?? 0) || b.wallMs - a.wallMs)
    .slice(0, n)
    .map((r) => ({ id: r.id, name: r.name, outcome: r.outcome, wallMs: r.wallMs, maxRssMB: r.detail?.maxRssMB }));
}

/** The report object written with --out. */
export function buildReport({ results, classes, seeds, failing, argv }) {
  const counts = countTable(results, classes);
  const failures = results.filter((r) => failing.includes(r.outcome));
  const findings = results.filter((r) => ['reached', 'wrong'].includes(r.outcome) && !failing.includes(r.outcome));
  const entry = (r) => ({
    id: r.id,
    repro: `npm run fuzz -- --case ${r.id}`,
    name: r.name,
    kind: r.kind,
    outcome: r.outcome,
    phase: r.phase,
    reason: r.reason,
    expect: r.expect,
    exitCode: r.detail?.exitCode,
    signal: r.detail?.signal,
    error: r.detail?.error,
    extra: r.detail?.extra,
    wallMs: r.wallMs,
    maxRssMB: r.detail?.maxRssMB,
    stderrTail: r.stderrTail || undefined,
  });
  return {
    date: new Date().toISOString(),
    argv,
    node: process.version,
    binary: process.env.SMOLVLM_BINARY ?? '(default build)',
    seeds,
    cases: results.length,
    failingOutcomes: failing,
    counts,
    signatures: signatures([...failures, ...findings]),
    failures: failures.map(entry),
    findings: findings.map(entry),
    costly: costly(results),
    results: results.map((r) => ({ id: r.id, outcome: r.outcome, phase: r.phase, name: r.name, reason: r.reason, wallMs: r.wallMs })),
  };
}
