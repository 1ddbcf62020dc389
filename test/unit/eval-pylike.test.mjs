// Python / pandas semantics: expected values printed by Python 3.11 (repr(float)) and by
// pd.read_csv(..., sep='\t') of pandas 1.5.3 with na_values=['None'] (pandas 2's default set),
// then str() of each cell, as VLMEvalKit's str(x) sees them; MathVista's post_check from
// vlmeval/dataset/utils/mathvista.py (VLMEvalKit e8e78f05) run on the rows below.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pyFloat, pyFloatRepr, pyInt, pyLiteral, pySplit, pyStr, pyStrip } from '../../dist/eval/pylike.js';
import { postCheck } from '../../dist/eval/score/mathvista.js';
import { Table } from '../../dist/eval/table.js';

const MISC = {
 "mathvista": [
  [
   {
    "question_type": "multi_choice",
    "answer_type": "text",
    "answer": "8/11",
    "answer_option": "B",
    "choices": "['3/11', '8/11', '6/11']",
    "prediction": "The answer is B."
   },
   "B",
   true
  ],
  [
   {
    "question_type": "multi_choice",
    "answer_type": "text",
    "answer": "8/11",
    "answer_option": "B",
    "choices": "['3/11', '8/11', '6/11']",
    "prediction": "6/11"
   },
   "C",
   false
  ],
  [
   {
    "question_type": "multi_choice",
    "answer_type": "text",
    "answer": "8/11",
    "answer_option": "B",
    "choices": "['3/11', '8/11', '6/11']",
    "prediction": "I am not sure"
   },
   false,
   false
  ],
  [
   {
    "question_type": "free_form",
    "answer_type": "integer",
    "answer": "14",
    "answer_option": null,
    "choices": null,
    "prediction": "14"
   },
   "14",
   true
  ],
  [
   {
    "question_type": "free_form",
    "answer_type": "integer",
    "answer": "14",
    "answer_option": null,
    "choices": null,
    "prediction": " 14 "
   },
   "14",
   true
  ],
  [
   {
    "question_type": "free_form",
    "answer_type": "integer",
    "answer": "14",
    "answer_option": null,
    "choices": null,
    "prediction": "14.0"
   },
   false,
   false
  ],
  [
   {
    "question_type": "free_form",
    "answer_type": "integer",
    "answer": "0",
    "answer_option": null,
    "choices": null,
    "prediction": "0"
   },
   "0",
   false
  ],
  [
   {
    "question_type": "free_form",
    "answer_type": "float",
    "answer": "1.5",
    "answer_option": null,
    "choices": null,
    "prediction": "1.50"
   },
   "1.5",
   true
  ],
  [
   {
    "question_type": "free_form",
    "answer_type": "float",
    "answer": "1.5",
    "answer_option": null,
    "choices": null,
    "prediction": "The answer is 1.5"
   },
   false,
   false
  ],
  [
   {
    "question_type": "free_form",
    "answer_type": "text",
    "answer": "cat",
    "answer_option": null,
    "choices": null,
    "prediction": "cat"
   },
   false,
   false
  ],
  [
   {
    "question_type": "free_form",
    "answer_type": "list",
    "answer": "[1, 2]",
    "answer_option": null,
    "choices": null,
    "prediction": "[1, 2]"
   },
   false,
   false
  ]
 ],
 "pandas_tsv": "index\tA\tB\tC\tD\tE\tF\tG\n1\t2\t1.5\tTrue\tNone\tx\t007\t\n2\t3\t\tFalse\t\t2\t+5\t1e-5\n3\t4\t2\ttrue\tNA\t3.0\t-0\t1e16\n",
 "pandas_str": {
  "index": [
   "1",
   "2",
   "3"
  ],
  "A": [
   "2",
   "3",
   "4"
  ],
  "B": [
   "1.5",
   "nan",
   "2.0"
  ],
  "C": [
   "True",
   "False",
   "True"
  ],
  "D": [
   "nan",
   "nan",
   "nan"
  ],
  "E": [
   "x",
   "2",
   "3.0"
  ],
  "F": [
   "7",
   "5",
   "0"
  ],
  "G": [
   "nan",
   "1e-05",
   "1e+16"
  ]
 },
 "float_repr": [
  [
   0.30000000000000004,
   "0.30000000000000004"
  ],
  [
   1e-05,
   "1e-05"
  ],
  [
   0.0001,
   "0.0001"
  ],
  [
   1e+16,
   "1e+16"
  ],
  [
   1000000000000000.0,
   "1000000000000000.0"
  ],
  [
   123456789.125,
   "123456789.125"
  ],
  [
   2.0,
   "2.0"
  ],
  [
   -0.0,
   "-0.0"
  ],
  [
   5e-324,
   "5e-324"
  ],
  [
   1.7976931348623157e+308,
   "1.7976931348623157e+308"
  ],
  [
   0.5,
   "0.5"
  ],
  [
   100.0,
   "100.0"
  ],
  [
   0.3333333333333333,
   "0.3333333333333333"
  ]
 ]
};

test('repr(float)', () => {
  for (const [x, e] of MISC.float_repr) assert.equal(pyFloatRepr(x), e, String(x));
  assert.equal(pyFloatRepr(-0), '-0.0');
});

test("str() of cells as pandas types the columns", () => {
  const lines = MISC.pandas_tsv.trimEnd().split('\n').map((l) => l.split('\t'));
  const t = new Table(lines[0], lines.slice(1).map((r) => r.map((c) => c)));
  for (const [col, values] of Object.entries(MISC.pandas_str)) {
    assert.deepEqual(t.rows.map((_, r) => t.str(r, col)), values, col);
  }
});

test('float(), int(), split(), strip() of Python', () => {
  assert.equal(pyFloat(' 1_000.5 '), 1000.5);
  assert.equal(pyFloat('1e3'), 1000);
  assert.equal(pyFloat('1,000'), undefined);
  assert.equal(pyFloat('-inf'), -Infinity);
  assert.ok(Number.isNaN(pyFloat('nan')));
  assert.equal(pyInt(' 007 '), 7n);
  assert.equal(pyInt('14.0'), undefined);
  assert.deepEqual(pySplit(' a\u00a0b\x1cc  '), ['a', 'b', 'c']);
  assert.equal(pyStrip('\x85 x \u3000'), 'x');
});

test('Python literals as VLMEvalKit evals them', () => {
  assert.deepEqual(pyLiteral("['a', \"b'c\", 'd\\'e']"), ['a', "b'c", "d'e"]);
  assert.equal(pyStr(pyLiteral('[1, 2.0, None, True]')), '[1, 2.0, None, True]');
  assert.equal(pyLiteral('[a, b]'), undefined);
  assert.equal(pyLiteral('hello'), undefined);
  assert.equal(pyStr(pyLiteral("('x',)")[0]), 'x');
});

test("MathVista's post_check (prefetch, then the check of the prefetched value)", () => {
  const cols = ['question_type', 'answer_type', 'answer', 'answer_option', 'choices', 'prediction'];
  for (const [line, pre, hit] of MISC.mathvista) {
    const t = new Table(cols, [cols.map((c) => line[c] ?? null)]);
    const got = postCheck(t, 0, line.prediction, true);
    assert.equal(got === false ? false : String(got), pre, JSON.stringify(line));
    const truthy = got !== false && got !== '' && got !== 0n && got !== 0;
    assert.equal(postCheck(t, 0, truthy ? got : '', false), hit, JSON.stringify(line));
  }
});
