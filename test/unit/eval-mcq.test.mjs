// MCQ scoring beyond can_infer: MMMU's open questions (MMMU_preproc) and MMBench's circular
// evaluation. Expected values derived by hand from vlmeval/dataset/utils/multiple_choice.py
// (mcq_vanilla_eval, mcq_circular_eval, report_acc) at VLMEvalKit e8e78f05, as commented.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scoreMcq } from '../../dist/eval/score/mcq.js';
import { Table } from '../../dist/eval/table.js';

const table = (cols, rows) => new Table(cols, rows);

test('MMMU: an open question becomes "A. <answer>" / "B. Other Answers", its answer A', () => {
  const cols = ['index', 'question', 'answer', 'A', 'B', 'split', 'prediction'];
  const t = table(cols, [
    ['1', 'x?', '42', null, null, 'validation', 'The value is 42'], // can_infer_text finds '42' -> A == GT -> hit
    ['2', 'y?', '7', null, null, 'validation', '41'], // neither 41 nor "other answers" -> miss
    ['3', 'z?', 'B', 'cat', 'dog', 'validation', 'B'], // plain MCQ -> hit
  ]);
  const answers = new Map([['1', '42'], ['2', '7'], ['3', 'B']]);
  const s = scoreMcq(t, answers, { circular: false, mmmu: true });
  assert.deepEqual(s.table, { columns: ['split', 'Overall'], rows: [['validation', 2 / 3]] });
  assert.equal(s.overall, (2 / 3) * 100);
});

test('circular: a question counts only when all its rotations are right', () => {
  const cols = ['index', 'question', 'A', 'B', 'C', 'category', 'prediction'];
  const t = table(cols, [
    ['1', 'q', 'x', 'y', 'z', 'c1', 'A'],
    ['1000001', 'q', 'y', 'z', 'x', 'c1', 'B'],
    ['2000001', 'q', 'z', 'x', 'y', 'c1', 'C'],
    ['2', 'r', 'x', 'y', 'z', 'c2', 'B'],
    ['1000002', 'r', 'y', 'z', 'x', 'c2', 'A'], // wrong: question 2 fails
  ]);
  const answers = new Map([['1', 'A'], ['1000001', 'B'], ['2000001', 'C'], ['2', 'B'], ['1000002', 'C']]);
  const s = scoreMcq(t, answers, { circular: true, mmmu: false });
  // data_main = rows 1 and 2 (index == index % 1e6): hits 1 and 0
  assert.deepEqual(s.table, { columns: ['split', 'Overall', 'c1', 'c2'], rows: [['none', 0.5, 1, 0]] });
});

test('a prediction that names no option counts as wrong (exact matching, no judge)', () => {
  const t = table(['index', 'question', 'A', 'B', 'prediction'], [['1', 'q', 'cat', 'dog', 'I cannot tell']]);
  assert.equal(scoreMcq(t, new Map([['1', 'A']]), { circular: false, mmmu: false }).table.rows[0][1], 0);
});
