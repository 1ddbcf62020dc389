// evaluate() end to end with the tiny fixture: small generated VLMEvalKit TSVs (MCQ, Y/N, VQA rows
// with base64 PNGs made by sharp), the output layout, a run killed mid-way and resumed, and
// score() on the predictions reproducing the scores.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { evalCommand } from '../../dist/eval/command.js';
import { evaluate, score } from '../../dist/index.js';
import { ensureFixture, loadTiny, root, tempDir, THREADS } from '../helpers.mjs';

const dir = tempDir();
const MAX_TOKENS = 6;

async function png(i) {
  const w = 40 + 8 * i;
  const raw = Buffer.alloc(w * 32 * 3, 0);
  for (let p = 0; p < raw.length; p += 3) {
    raw[p] = (i * 37 + p) & 255;
    raw[p + 1] = (i * 91) & 255;
    raw[p + 2] = (p / 3) % w < w / 2 ? 200 : 30;
  }
  return (await sharp(raw, { raw: { width: w, height: 32, channels: 3 } }).png().toBuffer()).toString('base64');
}

function tsv(path, header, rows) {
  writeFileSync(path, [header.join('\t'), ...rows.map((r) => r.join('\t'))].join('\n') + '\n');
  return path;
}

let files;
let vlm;
before(async () => {
  const imgs = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(png));
  files = {
    mcq: tsv(join(dir, 'mcq.tsv'), ['index', 'image', 'question', 'hint', 'A', 'B', 'C', 'answer', 'category', 'l2-category'],
      imgs.map((b, i) => [i + 1, i === 5 ? '1' : b, `What colour is shape ${i}?`, i % 2 ? 'Look closely.' : '', 'red', 'green', 'blue', 'ABC'[i % 3], `c${i % 2}`, 'perception'])),
    yorn: tsv(join(dir, 'yorn.tsv'), ['index', 'image', 'question', 'answer', 'category', 'image_path'],
      imgs.slice(0, 4).map((b, i) => [i + 1, b, `Is there a red square? Please answer yes or no.`, i % 2 ? 'Yes' : 'No', i < 2 ? 'color' : 'count', `${i >> 1}.jpg`])),
    vqa: tsv(join(dir, 'vqa.tsv'), ['index', 'image', 'question', 'answer'],
      imgs.slice(0, 3).map((b, i) => [i + 1, b, 'What is written here?', `['sign', 'a sign', 'stop', '${i}']`])),
  };
  vlm = await loadTiny({ parallel: 4, contextSize: 4 * 2048 });
});
after(() => vlm?.dispose());

test('MCQ, Y/N and VQA sets: predictions and scores in VLMEvalKit\'s layout; score() reproduces them', async () => {
  const workDir = join(dir, 'work');
  const runs = [
    [files.mcq, 'MMStar', '_acc.csv'],
    [files.yorn, 'MME', '_score.csv'],
    [files.vqa, 'TextVQA_VAL', '_acc.csv'],
  ];
  for (const [data, datasetName, suffix] of runs) {
    const seen = [];
    const res = await evaluate({ vlm, data, datasetName, workDir, modelName: 'tiny', maxTokens: MAX_TOKENS, onRow: (r) => seen.push(r.index) });
    const rows = readFileSync(data, 'utf8').trim().split('\n').length - 1;
    assert.equal(res.rows, rows);
    assert.equal(seen.length, rows);
    assert.equal(res.files.predictions, join(workDir, 'tiny', `tiny_${datasetName}.tsv`));
    assert.equal(res.files.scores, join(workDir, 'tiny', `tiny_${datasetName}${suffix}`));
    const header = readFileSync(res.files.predictions, 'utf8').split('\n')[0];
    assert.ok(header.endsWith('"prediction"') && !header.includes('"image"'), header);
    assert.ok(typeof res.scores.overall === 'number' && Number.isFinite(res.scores.overall), datasetName);
    const again = await score({ predictions: res.files.predictions, data, datasetName });
    assert.deepEqual(again.scores.table, res.scores.table, datasetName);
  }
  assert.deepEqual(readdirSync(join(workDir, 'tiny')).sort(), [
    'summary.json', 'tiny_MME.tsv', 'tiny_MME_score.csv', 'tiny_MMStar.tsv', 'tiny_MMStar_acc.csv', 'tiny_TextVQA_VAL.tsv', 'tiny_TextVQA_VAL_acc.csv',
  ]);
  assert.deepEqual(Object.keys(JSON.parse(readFileSync(join(workDir, 'tiny', 'summary.json'), 'utf8'))).sort(), ['MME', 'MMStar', 'TextVQA_VAL']);
});

test('a run killed mid-way resumes: done rows are not run again, and the scores equal an uninterrupted run', async () => {
  const { model, mmproj } = await ensureFixture({ size: 'tiny' });
  const workDir = join(dir, 'killed');
  const journal = join(workDir, 'tiny', 'tiny_MMStar_progress.jsonl');
  const opts = { data: files.mcq, datasetName: 'MMStar', workDir, modelName: 'tiny', maxTokens: MAX_TOKENS, parallel: 1 };
  const script = `
    const { loadModel, evaluate } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist', 'index.js')).href)});
    const vlm = await loadModel({ model: ${JSON.stringify(model)}, mmproj: ${JSON.stringify(mmproj)}, threads: ${THREADS}, parallel: 1 });
    await evaluate({ vlm, ...${JSON.stringify(opts)}, maxTokens: 16 });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit', env: process.env });
  const exited = new Promise((r) => child.on('exit', r));
  const lines = () => (existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').filter(Boolean).length : 0);
  while (lines() < 2) {
    if (child.exitCode !== null) assert.fail('the child finished before it could be killed');
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  await exited;
  const kept = lines();
  assert.ok(kept >= 2 && kept < 8, `kept ${kept}`);
  assert.equal(existsSync(join(workDir, 'tiny', 'tiny_MMStar.tsv')), false);

  // The resumed run answers the rest, on a model loaded as the child loaded it (same engine shape).
  const one = await loadTiny({ parallel: 1 });
  after(() => one.dispose());
  const resumed = await evaluate({ vlm: one, ...opts, maxTokens: 16 });
  assert.deepEqual([resumed.reused, resumed.answered], [kept, 8 - kept]);
  const clean = await evaluate({ vlm: one, ...opts, maxTokens: 16, workDir: join(dir, 'clean') });
  assert.equal(clean.answered, 8);
  assert.equal(readFileSync(resumed.files.predictions, 'utf8'), readFileSync(clean.files.predictions, 'utf8'));
  assert.deepEqual(resumed.scores, clean.scores);
  assert.equal(existsSync(journal), false);
});

test('the eval command loads the model, runs each dataset and prints its scores', async () => {
  const { model, mmproj } = await ensureFixture({ size: 'tiny' });
  let out = '';
  const sink = { write: (s) => ((out += s), true) };
  const [res] = await evalCommand(
    { data: [files.vqa], model, mmproj, modelName: 'tiny', workDir: join(dir, 'cmd'), limit: 2, maxTokens: 4, parallel: 2, threads: THREADS },
    { stdout: sink, stderr: sink },
  );
  assert.equal(res.rows, 2);
  assert.equal(res.dataset, 'vqa');
  assert.match(out, /^vqa: [\d.]+ \(Overall\)\nOverall\n[\d.]+\nnote: custom VQA set/);
  assert.ok(existsSync(join(dir, 'cmd', 'tiny', 'tiny_vqa_acc.csv')));
});
