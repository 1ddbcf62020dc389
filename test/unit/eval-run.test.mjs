// evaluate() without the addon: a stand-in model (the `vlm` option takes any object with SmolVLM's
// info and generate) shows the prompts and images the engine is given, the output layout, the
// resume after an interruption, and the handling of failing rows. The real model runs in
// test/model/eval.test.mjs.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EVAL_DEFAULTS, evaluate } from '../../dist/eval/evaluate.js';
import { ContextFullError } from '../../dist/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'smolvlm-eval-run-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const img = (n) => Buffer.from(Array.from({ length: 60 }, (_, i) => (i * 5 + n) & 255));
const MARKER = '<__media__>';

// An MMStar-like file: the question tells the stand-in what to answer.
function dataset(rows = 6) {
  const lines = ['index\timage\tquestion\tanswer\tA\tB\tcategory\tl2-category'];
  for (let i = 1; i <= rows; i++) {
    const right = i % 2 ? 'A' : 'B';
    const said = i === 3 ? 'B' : right; // row 3 is answered wrongly
    lines.push(`${i}\t${i === 4 ? '2' : img(i).toString('base64')}\tsay ${said}\t${right}\tcat\tdog\tcat${i % 3}\tl${i % 2}`);
  }
  const p = join(dir, `MMStar-${rows}-${Math.random().toString(36).slice(2, 6)}.tsv`);
  writeFileSync(p, lines.join('\n'));
  return p;
}

function standIn({ parallel = 4, fail, delayMs = 5 } = {}) {
  const calls = [];
  let inFlight = 0;
  let maxInFlight = 0;
  return {
    calls,
    get maxInFlight() {
      return maxInFlight;
    },
    info: { parallel, mediaMarker: MARKER, name: 'Stand In' },
    async generate(req) {
      calls.push(req);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await new Promise((r, j) => {
          const t = setTimeout(r, delayMs);
          req.signal?.addEventListener('abort', () => (clearTimeout(t), j(Object.assign(new Error('aborted'), { name: 'AbortError', code: 'ERR_ABORTED' }))), { once: true });
        });
        const said = /say (\w)/.exec(req.prompt)[1];
        if (fail?.(said, req)) throw new ContextFullError('ERR_CONTEXT_FULL', 'the prompt does not fit the context');
        return { text: ` The answer is ${said}. \n`, finishReason: 'stop' };
      } finally {
        inFlight--;
      }
    },
  };
}

test('prompts, images and generation settings are VLMEvalKit\'s; files land in its layout', async () => {
  const data = dataset();
  const vlm = standIn();
  const workDir = join(dir, 'w1');
  const res = await evaluate({ vlm, data, datasetName: 'MMStar', workDir, modelName: 'SmolVLM-256M' });
  assert.equal(vlm.calls.length, 6);
  const first = vlm.calls.find((c) => c.prompt.includes('say A') && c.images[0].equals(img(1)));
  assert.equal(first.prompt, `<|im_start|>User:${MARKER}Question: say A\nChoices:\nA. cat\nB. dog\nAnswer with the letter.<end_of_utterance>\nAssistant: Answer:`);
  // greedy, and VLMEvalKit's max_new_tokens: 2048 in vlmeval/vlm/smolvlm.py (SmolVLM and SmolVLM2's
  // kwargs_default; config.py passes no other), not a cap of our own
  assert.deepEqual([first.temperature, first.maxTokens, first.addSpecial], [0, 2048, false]);
  assert.ok(vlm.calls.every((c) => c.maxTokens === 2048));
  assert.equal(res.maxTokens, 2048);
  assert.equal(JSON.parse(readFileSync(res.files.summary, 'utf8')).MMStar.maxTokens, 2048);
  // row 4 shares row 2's image (a reference by index)
  assert.ok(vlm.calls.some((c) => c.images[0].equals(img(2)) && c.prompt.includes('say B') && c !== vlm.calls[1]));
  assert.ok(vlm.maxInFlight <= 4 && vlm.maxInFlight > 1);
  const out = join(workDir, 'SmolVLM-256M');
  assert.deepEqual(readdirSync(out).sort(), ['SmolVLM-256M_MMStar.tsv', 'SmolVLM-256M_MMStar_acc.csv', 'summary.json']);
  const tsv = readFileSync(res.files.predictions, 'utf8').split('\n');
  assert.equal(tsv[0], '"index"\t"question"\t"answer"\t"A"\t"B"\t"category"\t"l2-category"\t"prediction"');
  assert.equal(tsv[1], '"1"\t"say A"\t"A"\t"cat"\t"dog"\t"cat1"\t"l1"\t"The answer is A."');
  // 5 of 6 right; report_acc by hand: l0 rows 2,4,6 all right, l1 rows 1,3,5 two right
  assert.equal(res.scores.table.rows[0][1], 5 / 6);
  assert.deepEqual(res.scores.table.columns, ['split', 'Overall', 'l0', 'l1', 'cat0', 'cat1', 'cat2']);
  assert.deepEqual(res.scores.table.rows[0].slice(2, 4), [1, 2 / 3]);
  const summary = JSON.parse(readFileSync(res.files.summary, 'utf8'));
  assert.equal(summary.MMStar.scores.overall, (5 / 6) * 100);
  assert.equal(res.answered, 6);
});

test('an interrupted run keeps its answers; the next run does only the rest and scores the same', async () => {
  const data = dataset(8);
  const workDir = join(dir, 'w2');
  const ac = new AbortController();
  const first = standIn({ parallel: 2, delayMs: 20 });
  let seen = 0;
  await assert.rejects(
    evaluate({ vlm: first, data, datasetName: 'MMStar', workDir, modelName: 'm', parallel: 2, signal: ac.signal, onRow: () => ++seen === 3 && ac.abort() }),
    { code: 'ERR_ABORTED' },
  );
  const journal = join(workDir, 'm', 'm_MMStar_progress.jsonl');
  const kept = readFileSync(journal, 'utf8').trim().split('\n').map((l) => JSON.parse(l).index);
  assert.equal(kept.length, 3);
  assert.equal(existsSync(join(workDir, 'm', 'm_MMStar.tsv')), false); // no final file from an unfinished run
  appendFileSync(journal, '{"index": "9", "predic'); // a line cut by a crash is ignored
  const second = standIn({ parallel: 2 });
  const res = await evaluate({ vlm: second, data, datasetName: 'MMStar', workDir, modelName: 'm', parallel: 2 });
  assert.equal(second.calls.length, 5);
  assert.deepEqual([res.answered, res.reused], [5, 3]);
  const clean = await evaluate({ vlm: standIn(), data, datasetName: 'MMStar', workDir: join(dir, 'w2-clean'), modelName: 'm' });
  assert.deepEqual(res.scores.table, clean.scores.table);
  assert.equal(readFileSync(res.files.predictions, 'utf8'), readFileSync(clean.files.predictions, 'utf8'));
  assert.equal(existsSync(journal), false);
  // all answered: a third run generates nothing
  const third = standIn();
  await evaluate({ vlm: third, data, datasetName: 'MMStar', workDir, modelName: 'm' });
  assert.equal(third.calls.length, 0);
});

test('a failing row stops the run naming the row; with skipErrors it is recorded and retried next time', async () => {
  const data = dataset(4);
  const workDir = join(dir, 'w3');
  const failing = standIn({ fail: (said, req) => req.prompt.includes('say B') && req.images[0].equals(img(2)) });
  await assert.rejects(evaluate({ vlm: failing, data, datasetName: 'MMStar', workDir, modelName: 'm', parallel: 1 }), {
    code: 'ERR_CONTEXT_FULL', message: /row 2 \(index 2\): the prompt does not fit the context/,
  });
  const res = await evaluate({ vlm: failing, data, datasetName: 'MMStar', workDir, modelName: 'm', skipErrors: true });
  assert.equal(res.failed, 2); // rows 2 and 4 share that image
  assert.match(readFileSync(res.files.predictions, 'utf8'), /"Failed to obtain answer: ContextFullError the prompt does not fit the context"/);
  const retry = standIn();
  const fixed = await evaluate({ vlm: retry, data, datasetName: 'MMStar', workDir, modelName: 'm' });
  assert.equal(retry.calls.length, 2);
  assert.equal(fixed.failed, 0);
});

test('limit, and a model loaded with too few parallel slots', async () => {
  const data = dataset(6);
  const vlm = standIn();
  const res = await evaluate({ vlm, data, datasetName: 'MMStar', workDir: join(dir, 'w4'), modelName: 'm', limit: 2 });
  assert.equal(res.rows, 2);
  await assert.rejects(evaluate({ vlm: standIn({ parallel: 1 }), data, workDir: join(dir, 'w5'), parallel: 4 }), { code: 'ERR_INVALID_ARGUMENT', message: /parallel 4 needs a model loaded with parallel >= 4/ });
});

test('a limit run after a full one keeps every earlier answer in the files', async () => {
  const data = dataset(5);
  const workDir = join(dir, 'w6');
  await evaluate({ vlm: standIn(), data, datasetName: 'MMStar', workDir, modelName: 'm' });
  const quick = standIn();
  const res = await evaluate({ vlm: quick, data, datasetName: 'MMStar', workDir, modelName: 'm', limit: 2 });
  assert.equal(quick.calls.length, 0);
  assert.deepEqual([res.rows, res.reused], [5, 5]);
  assert.equal(readFileSync(res.files.predictions, 'utf8').trim().split('\n').length, 6);
});

test('the default max tokens is 2048 (VLMEvalKit\'s) in the library and the command; --max-tokens / maxTokens override it', async () => {
  assert.equal(EVAL_DEFAULTS.maxTokens, 2048);
  const vlm = standIn();
  const res = await evaluate({ vlm, data: dataset(2), datasetName: 'MMStar', workDir: join(dir, 'mt'), modelName: 'm', maxTokens: 512 });
  assert.deepEqual(vlm.calls.map((c) => c.maxTokens), [512, 512]);
  assert.equal(res.maxTokens, 512);
  const bin = fileURLToPath(new URL('../../bin/smolvlm.mjs', import.meta.url));
  const help = execFileSync(process.execPath, [bin, 'eval', '--help'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
  assert.match(help, /--max-tokens <n> tokens per answer at most \(default 2048, as VLMEvalKit's SmolVLM\)/);
  assert.match(help, /--max-tokens defaults to 2048, VLMEvalKit's max_new_tokens for SmolVLM/);
});
