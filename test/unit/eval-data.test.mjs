// Dataset files: reading VLMEvalKit's TSVs (images left in the file, references, lists), writing
// as pandas' to_csv(quoting=QUOTE_ALL) does, bad input, the dataset table (the download itself:
// eval-download.test.mjs).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { knownDataset, locateDataset, KNOWN_DATASETS } from '../../dist/eval/datasets.js';
import { openDataset } from '../../dist/eval/evaluate.js';
import { score } from '../../dist/eval/rescore.js';
import { readTsv, resolveImageRows, rowImages, tableText } from '../../dist/eval/tsv.js';

const dir = mkdtempSync(join(tmpdir(), 'smolvlm-eval-data-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Some bytes, base64-encoded: more than 64 characters, so not taken for a reference.
const bytes = (n) => Buffer.from(Array.from({ length: 60 }, (_, i) => (i * 7 + n) & 255));
const b64 = (n) => bytes(n).toString('base64');

function write(name, text) {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test('reads rows, quoted multi-line fields and CRLF; images come back from the file, references and lists resolved', async () => {
  const p = write('ds.tsv', [
    'index\timage\tquestion\tanswer\tA\tB',
    `1\t${b64(1)}\t"two\nlines, ""quoted"""\tA\tcat\tdog\r`,
    `2\t1\tsame image as row 1\tB\tcat\tdog`,
    `3\t['${b64(2)}', '${b64(3)}']\ttwo images\tA\tx\ty`,
    '',
  ].join('\n'));
  const file = await readTsv(p);
  assert.deepEqual(file.table.columns, ['index', 'image', 'question', 'answer', 'A', 'B']);
  assert.equal(file.table.raw(0, 'question'), 'two\nlines, "quoted"');
  assert.equal(file.table.raw(0, 'B'), 'dog');
  const src = resolveImageRows(file, [0, 1, 2]);
  assert.deepEqual([...src], [[0, 0], [1, 0], [2, 2]]);
  assert.deepEqual(await rowImages(file, 1, src.get(1)), [bytes(1)]);
  assert.deepEqual(await rowImages(file, 2, src.get(2)), [bytes(2), bytes(3)]);
});

test('image_path rows read their files relative to the TSV', async () => {
  writeFileSync(join(dir, 'pic.bin'), bytes(9));
  const p = write('paths.tsv', 'index\timage_path\tquestion\n1\tpic.bin\tq\n');
  const file = await readTsv(p);
  assert.deepEqual(await rowImages(file, 0, 0), [bytes(9)]);
});

test('broken base64 is an error naming the file, row and column', async () => {
  const p = write('bad64.tsv', `index\timage\tquestion\n1\t${b64(1)}\tq\n2\t${'%'.repeat(80)}\tq\n`);
  await assert.rejects(readTsv(p), { code: 'ERR_INVALID_ARGUMENT', message: new RegExp(`${p}: row 2 \\(line 3\\), column image: not valid base64`) });
});

test('a reference to no image is an error naming the row', async () => {
  const file = await readTsv(write('badref.tsv', `index\timage\tquestion\n1\t${b64(1)}\tq\n2\t7\tq\n`));
  assert.throws(() => resolveImageRows(file, [0, 1]), { code: 'ERR_INVALID_ARGUMENT', message: /row 2 \(index 2\), column image: '7' is neither base64 nor the index/ });
});

test('missing columns and unknown datasets are named', async () => {
  const p = write('MMStar.tsv', `index\timage\tA\tB\n1\t${b64(1)}\tx\ty\n`);
  await assert.rejects(openDataset(p, {}), { code: 'ERR_INVALID_ARGUMENT', message: new RegExp(`${p}: missing column 'question'`) });
  const q = write('noanswer.tsv', `index\timage\tquestion\tA\tB\n1\t${b64(1)}\tq\tx\ty\n`);
  await assert.rejects(openDataset(q, { datasetName: 'MMStar' }), { message: /missing column 'answer' \(MMStar is scored with them\)/ });
  await assert.rejects(openDataset('NoSuchBench', {}), { code: 'ERR_INVALID_ARGUMENT', message: /unknown dataset 'NoSuchBench': known names are MMBench_DEV_EN/ });
  const dup = write('dup.tsv', `index\timage\tquestion\tanswer\n1\t${b64(1)}\tq\ta\n1\t${b64(2)}\tq\ta\n`);
  await assert.rejects(openDataset(dup, {}), { message: /row 2: index 1 occurs twice/ });
});

test('tables are written as pandas to_csv(sep, quoting=QUOTE_ALL) writes them', () => {
  // pd.DataFrame({'a': ['x', None], 'b': ['say "hi"', 'tab\there']}).to_csv(sep='\t', index=False, quoting=csv.QUOTE_ALL)
  assert.equal(tableText(['a', 'b'], [['x', 'say "hi"'], [null, 'tab\there']], '\t'), '"a"\t"b"\n"x"\t"say ""hi"""\n""\t"tab\there"\n');
});

// Parsed from VLMEvalKit's DATASET_URL / DATASET_MD5 dicts (ImageMCQDataset, MMMUDataset,
// ImageVQADataset, MathVista, ImageYORNDataset at e8e78f05) with Python's ast.literal_eval.
const VLMEVALKIT = {
 "MMBench_DEV_EN": [
  "https://opencompass.openxlab.space/utils/benchmarks/MMBench/MMBench_DEV_EN.tsv",
  "b6caf1133a01c6bb705cf753bb527ed8"
 ],
 "MMBench_DEV_EN_V11": [
  "https://opencompass.openxlab.space/utils/benchmarks/MMBench/MMBench_DEV_EN_V11.tsv",
  "30c05be8f2f347a50be25aa067248184"
 ],
 "MMBench_DEV_CN": [
  "https://opencompass.openxlab.space/utils/benchmarks/MMBench/MMBench_DEV_CN.tsv",
  "08b8fc3324a5ed74155350f57be69fbd"
 ],
 "CCBench": [
  "https://opencompass.openxlab.space/utils/VLMEval/CCBench.tsv",
  "f5dde47f24dc5a6fb6e595b409b466ac"
 ],
 "MMMU_DEV_VAL": [
  "https://opencompass.openxlab.space/utils/VLMEval/MMMU_DEV_VAL.tsv",
  "585e8ad75e73f75dcad265dfd0417d64"
 ],
 "MMStar": [
  "https://opencompass.openxlab.space/utils/VLMEval/MMStar.tsv",
  "e1ecd2140806c1b1bbf54b43372efb9e"
 ],
 "AI2D_TEST": [
  "https://opencompass.openxlab.space/utils/VLMEval/AI2D_TEST.tsv",
  "0f593e0d1c7df9a3d69bf1f947e71975"
 ],
 "ScienceQA_VAL": [
  "https://opencompass.openxlab.space/utils/benchmarks/ScienceQA/ScienceQA_VAL.tsv",
  "96320d05e142e585e7204e72affd29f3"
 ],
 "ScienceQA_TEST": [
  "https://opencompass.openxlab.space/utils/benchmarks/ScienceQA/ScienceQA_TEST.tsv",
  "e42e9e00f9c59a80d8a5db35bc32b71f"
 ],
 "SEEDBench_IMG": [
  "https://opencompass.openxlab.space/utils/benchmarks/SEEDBench/SEEDBench_IMG.tsv",
  "68017231464752261a2526d6ca3a10c0"
 ],
 "TextVQA_VAL": [
  "https://opencompass.openxlab.space/utils/VLMEval/TextVQA_VAL.tsv",
  "b233b31f551bbf4056f2f955da3a92cd"
 ],
 "DocVQA_VAL": [
  "https://opencompass.openxlab.space/utils/VLMEval/DocVQA_VAL.tsv",
  "d5ee77e1926ff10690d469c56b73eabf"
 ],
 "InfoVQA_VAL": [
  "https://opencompass.openxlab.space/utils/VLMEval/InfoVQA_VAL.tsv",
  "2342e9c225222f0ef4dec545ebb126fe"
 ],
 "ChartQA_TEST": [
  "https://opencompass.openxlab.space/utils/VLMEval/ChartQA_TEST.tsv",
  "c902e0aa9be5582a7aad6dcf52734b42"
 ],
 "OCRVQA_TEST": [
  "https://opencompass.openxlab.space/utils/VLMEval/OCRVQA_TEST.tsv",
  "ca46a6d74b403e9d6c0b670f6fc00db9"
 ],
 "OCRVQA_TESTCORE": [
  "https://opencompass.openxlab.space/utils/VLMEval/OCRVQA_TESTCORE.tsv",
  "c5239fe77db8bdc1f2ad8e55e0d1fe97"
 ],
 "HallusionBench": [
  "https://opencompass.openxlab.space/utils/VLMEval/HallusionBench.tsv",
  "0c23ac0dc9ef46832d7a24504f2a0c7c"
 ],
 "MME": [
  "https://opencompass.openxlab.space/utils/VLMEval/MME.tsv",
  "b36b43c3f09801f5d368627fb92187c3"
 ],
 "POPE": [
  "https://opencompass.openxlab.space/utils/VLMEval/POPE.tsv",
  "c12f5acb142f2ef1f85a26ba2fbe41d5"
 ],
 "MathVista_MINI": [
  "https://opencompass.openxlab.space/utils/VLMEval/MathVista_MINI.tsv",
  "f199b98e178e5a2a20e7048f5dcb0464"
 ]
};

test("every known dataset has VLMEvalKit's URL and MD5", () => {
  assert.deepEqual([...KNOWN_DATASETS].sort(), Object.keys(VLMEVALKIT).sort());
  for (const [name, [url, md5]] of Object.entries(VLMEVALKIT)) {
    assert.equal(knownDataset(name).url, url, name);
    assert.equal(knownDataset(name).md5, md5, name);
  }
});

test('a known name is downloaded into the data folder as <name>.tsv, and a file without its MD5 is refused and removed', async () => {
  const dataDir = join(dir, 'data');
  const calls = [];
  const download = async (url, md5, dest) => {
    calls.push(url);
    writeFileSync(dest, 'not the dataset');
  };
  await assert.rejects(locateDataset('MMStar', { dataDir, download }), { code: 'ERR_CHECKSUM_MISMATCH' });
  assert.deepEqual(calls, [knownDataset('MMStar').url]);
  assert.equal(existsSync(join(dataDir, 'MMStar.tsv')), false);
});

test('score() re-scores a predictions file written by VLMEvalKit (QUOTE_ALL, no image column)', async () => {
  const data = write('MMStar_data.tsv', [
    'index\timage\tquestion\tanswer\tA\tB\tcategory\tl2-category',
    `1\t${b64(1)}\tq1\tA\tcat\tdog\tc1\tl1`,
    `2\t${b64(2)}\tq2\tB\tcat\tdog\tc1\tl1`,
    `3\t${b64(3)}\tq3\tB\tcat\tdog\tc2\tl1`,
  ].join('\n'));
  const preds = write('SmolVLM_MMStar.tsv', [
    '"index"\t"question"\t"answer"\t"A"\t"B"\t"category"\t"l2-category"\t"prediction"',
    '"1"\t"q1"\t"A"\t"cat"\t"dog"\t"c1"\t"l1"\t"A"',
    '"2"\t"q2"\t"B"\t"cat"\t"dog"\t"c1"\t"l1"\t"It is a dog."',
    '"3"\t"q3"\t"B"\t"cat"\t"dog"\t"c2"\t"l1"\t"cat"',
  ].join('\n'));
  const res = await score({ predictions: preds, data, datasetName: 'MMStar', write: true });
  assert.equal(res.dataset, 'MMStar');
  // report_acc by hand: hits 1, 1, 0 -> Overall 2/3; l1 2/3; c1 1.0; c2 0.0
  assert.deepEqual(res.scores.table, { columns: ['split', 'Overall', 'l1', 'c1', 'c2'], rows: [['none', 2 / 3, 2 / 3, 1, 0]] });
  assert.equal(readFileSync(res.file, 'utf8'), '"split","Overall","l1","c1","c2"\n"none","0.6666666666666666","0.6666666666666666","1.0","0.0"\n');
  // without the dataset, the name comes from <model>_<dataset>.tsv and the answers from the file
  const again = await score({ predictions: preds });
  assert.deepEqual(again.scores.table, res.scores.table);
});

test('the eval command re-scores a predictions file and prints the table', async () => {
  const { evalCommand } = await import('../../dist/eval/command.js');
  const preds = write('m_MMStar.tsv', '"index"\t"question"\t"answer"\t"A"\t"B"\t"prediction"\n"1"\t"q"\t"A"\t"x"\t"y"\t"A"\n"2"\t"q"\t"B"\t"x"\t"y"\t"A"\n');
  let out = '';
  const stdout = { write: (s) => ((out += s), true) };
  const [res] = await evalCommand({ data: [], score: preds }, { stdout, stderr: stdout });
  assert.equal(res.scores.overall, 50);
  assert.equal(out, 'MMStar: 50.00 (Overall x 100)\nsplit  Overall\nnone   50.00\n');
  assert.ok(existsSync(join(dir, 'm_MMStar_acc.csv')));
  await assert.rejects(evalCommand({ data: [] }, { stdout, stderr: stdout }), { code: 'ERR_INVALID_ARGUMENT', message: /give --data/ });
});

test('a missing predictions or dataset file is an InvalidArgumentError naming it, not an unhandled stream error', async () => {
  await assert.rejects(score({ predictions: join(dir, 'none', 'SmolVLM_MMStar.tsv') }), { code: 'ERR_INVALID_ARGUMENT', message: /none\/SmolVLM_MMStar\.tsv: no such file/ });
  await assert.rejects(readTsv(join(dir, 'none.tsv')), { code: 'ERR_INVALID_ARGUMENT', message: /none\.tsv: no such file/ });
});
