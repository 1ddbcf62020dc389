// One fuzz case, in a process of its own: `node child.mjs <class> <seed> <index>`.
//
// The case is regenerated here from (class, seed, index), run once, and described to the parent
// through marker lines on stdout (see protocol.mjs), each written synchronously, so what was
// reported before a crash is never lost. The process then ends by itself: a leaked handle shows
// as a process that does not exit, an unsettled promise as Node's exit code 13.

import { mark } from './protocol.mjs';
import { caseRng } from './prng.mjs';
import { CLASSES, INTERNAL_CLASSES, loadClass } from './classes/index.mjs';
import { kit } from './kit.mjs';

const [cls, seedArg, indexArg] = process.argv.slice(2);
if (!CLASSES.includes(cls) && !INTERNAL_CLASSES.includes(cls)) throw new Error(`unknown class '${cls}' (one of ${CLASSES.join(', ')})`);
const seed = Number(seedArg);
const index = Number(indexArg);
const context = JSON.parse(process.env.SMOLVLM_FUZZ_CONTEXT ?? '{}');

const started = performance.now();
const mod = await loadClass(cls);
const k = kit(context);
const c = await mod.generate({ rng: caseRng(seed, cls, index), seed, index, k });
mark({
  t: 'case',
  name: c.name,
  kind: c.kind ?? c.name,
  expect: c.expect ?? 'any',
  codes: c.codes,
  codesAt: c.codesAt,
  timeoutMs: c.timeoutMs,
});

let settled;
let error;
try {
  k.phase('run');
  await c.run(k);
  settled = 'resolve';
} catch (err) {
  settled = 'reject';
  error = await k.describeError(err);
} finally {
  await k.cleanup();
}
mark({
  t: 'done',
  settled,
  error,
  extra: Object.keys(k.extras()).length ? k.extras() : undefined,
  lastPhase: settled === 'resolve' ? 'done' : k.failedIn() ?? k.lastPhase(),
  ms: Math.round(performance.now() - started),
  maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
});
