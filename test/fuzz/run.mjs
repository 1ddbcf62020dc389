#!/usr/bin/env node
// The fuzzer: `npm run fuzz -- --cases N --seed S [--class C] [--jobs 1] [--timeout-ms T] [--out F]`.
// See test/fuzz/README.md. Exits 1 when a case crashed, hung or was rejected untyped
// (`--strict`: also reached a local server or contradicted its expectation).

import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureFixture } from '../fixtures/synth.mjs';
import { CLASSES } from './classes/index.mjs';
import { FAILURES, STRICT_FAILURES } from './classify.mjs';
import { runCase, runCases } from './harness.mjs';
import { buildReport, formatTable } from './report.mjs';

/** `total` cases per seed spread over `classes` (the first classes take the remainder). */
export function planCases({ total, seeds, classes }) {
  const cases = [];
  for (const seed of seeds) {
    classes.forEach((cls, i) => {
      const n = Math.floor(total / classes.length) + (i < total % classes.length ? 1 : 0);
      for (let index = 0; index < n; index++) cases.push({ cls, seed, index });
    });
  }
  return cases;
}

export function parseCaseId(id) {
  const m = /^(\w+):(\d+):(\d+)$/.exec(id);
  if (!m || !CLASSES.includes(m[1])) throw new Error(`--case takes <class>:<seed>:<index> with a class of ${CLASSES.join(', ')}, got '${id}'`);
  return { cls: m[1], seed: Number(m[2]), index: Number(m[3]) };
}

/**
 * Runs a fuzz campaign and returns its report (see report.mjs).
 * @param {{ total?: number, seeds?: number[], classes?: string[], jobs?: number, timeoutMs?: number,
 *   strict?: boolean, keep?: string, backtrace?: boolean, log?: (line: string) => void, argv?: string[] }} options
 */
export async function fuzz({ total = 100, seeds = [1], classes = CLASSES, jobs = 1, timeoutMs = 30_000, strict = false, keep, backtrace, log = () => {}, argv = [] } = {}) {
  const fixtures = await ensureFixture({ size: 'tiny' });
  const failing = strict ? STRICT_FAILURES : FAILURES;
  const cases = planCases({ total, seeds, classes });
  let done = 0;
  const results = await runCases(cases, {
    jobs, timeoutMs, fixtures: { model: fixtures.model, mmproj: fixtures.mmproj }, keep, backtrace,
    onResult(r) {
      done++;
      if (r.outcome !== 'typed' && r.outcome !== 'success') log(`[${done}/${cases.length}] ${r.id} ${r.outcome} (${r.phase}): ${r.name} -- ${r.reason}`);
    },
  });
  return buildReport({ results, classes, seeds, failing, argv });
}

async function main() {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string', default: '100' },
      seed: { type: 'string', default: '1' },
      class: { type: 'string', multiple: true },
      jobs: { type: 'string', default: '1' },
      'timeout-ms': { type: 'string', default: '30000' },
      out: { type: 'string' },
      case: { type: 'string', multiple: true },
      strict: { type: 'boolean', default: false },
      keep: { type: 'string' },
      backtrace: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  const int = (name, v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got '${v}'`);
    return n;
  };
  const timeoutMs = int('timeout-ms', values['timeout-ms']);
  const failing = values.strict ? STRICT_FAILURES : FAILURES;

  if (values.case) {
    // Reproduce cases one by one with their whole output.
    const fixtures = await ensureFixture({ size: 'tiny' });
    let bad = false;
    for (const id of values.case) {
      const r = await runCase({ ...parseCaseId(id), timeoutMs, fixtures: { model: fixtures.model, mmproj: fixtures.mmproj }, keep: values.keep, backtrace: values.backtrace, echo: true });
      const { stderrTail, stdoutTail, ...rest } = r;
      console.log(JSON.stringify(rest, null, 2));
      bad ||= failing.includes(r.outcome);
    }
    process.exitCode = bad ? 1 : 0;
    return;
  }

  const classes = (values.class ?? CLASSES).flatMap((c) => c.split(','));
  for (const c of classes) if (!CLASSES.includes(c)) throw new Error(`unknown --class '${c}' (one of ${CLASSES.join(', ')})`);
  const seeds = values.seed.split(',').map((s) => int('seed', s));
  const total = int('cases', values.cases);
  const started = performance.now();
  const report = await fuzz({
    total, seeds, classes, jobs: Math.max(1, int('jobs', values.jobs)), timeoutMs, strict: values.strict, keep: values.keep,
    backtrace: values.backtrace, log: values.quiet ? () => {} : (l) => console.error(l), argv: process.argv.slice(2),
  });
  console.log(`\nsmolvlm-node fuzz: ${report.cases} cases, seed ${seeds.join(',')}, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  console.log(formatTable(report.counts));
  if (report.signatures.length) {
    console.log('\nsignatures (class | case kind | outcome in phase | reason), count, example:');
    for (const s of report.signatures) console.log(`  ${s.count}x ${s.signature}  [${s.cases[0]}]`);
  }
  if (report.costly.length) {
    console.log('\ncostly cases:');
    for (const c of report.costly) console.log(`  ${c.id} ${c.name}: ${c.wallMs} ms, ${c.maxRssMB} MB RSS (${c.outcome})`);
  }
  if (values.out) {
    writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nreport: ${values.out} (reproduce a case with npm run fuzz -- --case <id>)`);
  }
  const failed = report.failures.length;
  if (failed) console.log(`\n${failed} failing case(s) (${failing.join('/')}): exit 1`);
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 2;
  });
}

