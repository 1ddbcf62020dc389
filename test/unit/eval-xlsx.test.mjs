// VLMEvalKit's .xlsx predictions (its default PRED_FORMAT): score() reads them as pd.read_excel
// does and gives the scores of the same predictions in a TSV. The workbooks are generated here:
// with exceljs always, and exactly as VLMEvalKit's `dump_xlsx` writes them (pandas + xlsxwriter)
// where a Python with both is installed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import ExcelJS from 'exceljs';
import { score } from '../../dist/eval/rescore.js';
import { cellText, readXlsx } from '../../dist/eval/xlsx.js';
import { InvalidArgumentError } from '../../dist/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'smolvlm-eval-xlsx-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (n) => Buffer.from(Array.from({ length: 60 }, (_, i) => (i * 7 + n) & 255)).toString('base64');

// An MMStar-like dataset and its predictions: a right letter, a letter in a sentence, option text,
// a wrong letter, an empty answer, an answer that looks like a formula (VLMEvalKit writes it
// as a string: strings_to_formulas=False).
const COLUMNS = ['index', 'question', 'answer', 'A', 'B', 'category', 'l2-category', 'prediction'];
const ROWS = [
  [1, 'q1', 'A', 'cat', 'dog', 'c1', 'l1', 'A'],
  [2, 'q2', 'B', 'cat', 'dog', 'c1', 'l1', 'It is a dog.'],
  [3, 'q3', 'B', 'cat', 'dog', 'c2', 'l1', 'cat'],
  [4, 'q4', 'A', 'cat', 'dog', 'c2', 'l2', 'B'],
  [5, 'q5', 'A', 'cat', 'dog', 'c2', 'l2', null],
  [6, 'q6', 'A', 'cat', 'dog', 'c1', 'l2', '=A1+1 so A'],
];
const dataTsv = join(dir, 'MMStar.tsv');
writeFileSync(dataTsv, [
  'index\timage\tquestion\tanswer\tA\tB\tcategory\tl2-category',
  ...ROWS.map((r) => [r[0], b64(r[0]), ...r.slice(1, 7)].join('\t')),
].join('\n'));
const q = (v) => (v === null ? '""' : `"${String(v).replace(/"/g, '""')}"`);
const predTsv = join(dir, 'SmolVLM_MMStar.tsv');
writeFileSync(predTsv, [COLUMNS.map(q).join('\t'), ...ROWS.map((r) => r.map(q).join('\t'))].join('\n'));

async function exceljsBook(path, columns, rows, edit) {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Sheet1');
  ws.addRow(columns);
  for (const r of rows) ws.addRow(r.map((v) => (v === null ? undefined : v)));
  edit?.(ws);
  wb.addWorksheet('Other').addRow(['not', 'read']);
  await wb.xlsx.writeFile(path);
  return path;
}

test('cell values become the text pandas holds after read_excel', () => {
  assert.equal(cellText(undefined), null);
  assert.equal(cellText(null), null);
  assert.equal(cellText(3), '3');
  assert.equal(cellText(3.0), '3');
  assert.equal(cellText(0.1), '0.1');
  assert.equal(cellText(true), 'True');
  assert.equal(cellText({ richText: [{ text: 'a ' }, { text: 'dog' }] }), 'a dog');
  assert.equal(cellText({ formula: 'A1+1', result: 7 }), '7');
  assert.equal(cellText({ error: '#N/A' }), '#N/A');
  assert.equal(cellText({ text: 'link', hyperlink: 'http://x' }), 'link');
  assert.equal(cellText(new Date(Date.UTC(2024, 0, 2, 3, 4, 5))), '2024-01-02 03:04:05');
});

test('an .xlsx of predictions is scored as the same predictions in a TSV (exceljs-written)', async () => {
  const xlsx = await exceljsBook(join(dir, 'SmolVLM_MMStar.xlsx'), COLUMNS, ROWS, (ws) => {
    // rich text in one prediction, as a hand-edited workbook may have
    ws.getCell('H3').value = { richText: [{ text: 'It is ' }, { text: 'a dog.' }] };
  });
  const { table } = await readXlsx(xlsx);
  assert.deepEqual(table.columns, COLUMNS);
  assert.deepEqual(table.rows.map((r) => r[7]), ['A', 'It is a dog.', 'cat', 'B', null, '=A1+1 so A']);
  assert.deepEqual(table.rows.map((r) => r[0]), ['1', '2', '3', '4', '5', '6']);
  const fromTsv = await score({ predictions: predTsv, data: dataTsv, datasetName: 'MMStar' });
  const fromXlsx = await score({ predictions: xlsx, data: dataTsv, datasetName: 'MMStar', write: true });
  assert.deepEqual(fromXlsx.scores, fromTsv.scores);
  // can_infer by hand: A; "dog" (B); "cat" is A, not B; B, not A; nothing; the word "A": 3 of 6
  assert.equal(fromXlsx.scores.table.rows[0][1], 3 / 6);
  // the score file lands beside it as VLMEvalKit names it: <model>_<dataset>_acc.csv
  assert.equal(fromXlsx.file, join(dir, 'SmolVLM_MMStar_acc.csv'));
  assert.ok(existsSync(fromXlsx.file));
  // without data: the dataset comes from the file name, the answers from the file
  const alone = await score({ predictions: xlsx });
  assert.equal(alone.dataset, 'MMStar');
  assert.deepEqual(alone.scores.table, fromTsv.scores.table);
});

test('numbers in cells (ChartQA answers) score as their text in a TSV would', async () => {
  const cols = ['index', 'question', 'answer', 'prediction'];
  const rows = [[1, 'q', 12, '12.5'], [2, 'q', 3.5, '3.5'], [3, 'q', 100, '94'], [4, 'q', 'Yes', 'yes']];
  const xlsx = await exceljsBook(join(dir, 'M_ChartQA_TEST.xlsx'), cols, rows);
  const tsv = join(dir, 'M_ChartQA_TEST.tsv');
  writeFileSync(tsv, [cols.map(q).join('\t'), ...rows.map((r) => r.map(q).join('\t'))].join('\n'));
  const a = await score({ predictions: xlsx });
  const b = await score({ predictions: tsv });
  assert.equal(a.dataset, 'ChartQA_TEST');
  assert.deepEqual(a.scores, b.scores);
  assert.equal(a.scores.overall, 75); // relaxed: 12.5 within 5% of 12, 3.5, not 94 for 100, yes
});

test("a workbook written as VLMEvalKit's dump_xlsx writes it (pandas + xlsxwriter) scores as the TSV", async (t) => {
  const py = ['/usr/bin/python3', 'python3'].find((p) => {
    try {
      execFileSync(p, ['-c', 'import pandas, xlsxwriter, openpyxl'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!py) return t.skip('no Python with pandas, xlsxwriter and openpyxl here');
  const xlsx = join(dir, 'SmolVLM_MMStar_pd.xlsx');
  // vlmeval/smp/file.py dump_xlsx, on the TSV pandas reads (NaN where the TSV has "")
  execFileSync(py, ['-c', `
import sys, pandas as pd
data = pd.read_csv(sys.argv[1], sep='\\t')
with pd.ExcelWriter(sys.argv[2], engine='xlsxwriter', engine_kwargs={'options': {'strings_to_formulas': False}}) as writer:
    data.to_excel(writer, index=False)
back = pd.read_excel(sys.argv[2])
assert list(back['prediction'].fillna('<NA>')) == ['A', 'It is a dog.', 'cat', 'B', '<NA>', '=A1+1 so A'], list(back['prediction'])
`, predTsv, xlsx]);
  const { table } = await readXlsx(xlsx);
  assert.deepEqual(table.columns, COLUMNS);
  assert.deepEqual(table.rows.map((r) => r[7]), ['A', 'It is a dog.', 'cat', 'B', null, '=A1+1 so A']);
  const fromTsv = await score({ predictions: predTsv, data: dataTsv, datasetName: 'MMStar' });
  const fromXlsx = await score({ predictions: xlsx, data: dataTsv, datasetName: 'MMStar' });
  assert.deepEqual(fromXlsx.scores, fromTsv.scores);
});

test('a file that is not a workbook, or a missing one, is an InvalidArgumentError naming it', async () => {
  const bad = join(dir, 'Broken_MMStar.xlsx');
  writeFileSync(bad, 'index\tprediction\n1\tA\n');
  const err = await score({ predictions: bad }).catch((e) => e);
  assert.ok(err instanceof InvalidArgumentError, String(err));
  assert.equal(err.code, 'ERR_INVALID_ARGUMENT');
  assert.match(err.message, /Broken_MMStar\.xlsx: not a readable \.xlsx workbook: not a zip archive/);
  // a workbook cut short (a copy that did not finish)
  const whole = readFileSync(await exceljsBook(join(dir, 'Whole_MMStar.xlsx'), COLUMNS, ROWS));
  const cut = join(dir, 'Cut_MMStar.xlsx');
  writeFileSync(cut, whole.subarray(0, whole.length >> 1));
  await assert.rejects(score({ predictions: cut }), { code: 'ERR_INVALID_ARGUMENT', message: /Cut_MMStar\.xlsx: not a readable \.xlsx workbook/ });
  await assert.rejects(score({ predictions: join(dir, 'Nope_MMStar.xlsx') }), { code: 'ERR_INVALID_ARGUMENT', message: /Nope_MMStar\.xlsx: no such file/ });
  const empty = await exceljsBook(join(dir, 'Empty_MMStar.xlsx'), [], []);
  await assert.rejects(score({ predictions: empty }), { code: 'ERR_INVALID_ARGUMENT', message: /first sheet is empty/ });
});

test('the eval command re-scores an .xlsx', async () => {
  const { evalCommand } = await import('../../dist/eval/command.js');
  const xlsx = await exceljsBook(join(dir, 'cmd', 'SmolVLM_MMStar.xlsx').replace('/cmd/', '/cmd-'), COLUMNS, ROWS);
  let out = '';
  const sink = { write: (s) => ((out += s), true) };
  await evalCommand({ data: [dataTsv], score: xlsx }, { stdout: sink, stderr: sink });
  assert.match(out, /^MMStar: 50\.00 \(Overall x 100\)/);
  assert.ok(readFileSync(xlsx.replace(/\.xlsx$/, '_acc.csv'), 'utf8').startsWith('"split","Overall"'));
});
