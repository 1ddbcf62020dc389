// Expected values were computed by running VLMEvalKit's own functions (open-compass/VLMEvalKit at
// e8e78f05, source extracted unchanged with Python's ast module and executed under Python 3.11,
// pandas 1.5.3 with 'None' added to na_values as pandas 2 reads it, numpy 1.24) on these inputs.
// Functions: vlmeval/dataset/utils/vqa_eval.py (process_answer, process_line, hit_calculate,
// relaxed_correctness, anls_compute) and vlmeval/smp/misc.py process_punctuation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anlsCompute, hitOf, processAnswer, processLine, relaxedCorrectness } from '../../dist/eval/score/vqa.js';

const close = (a, b, msg) => assert.ok(Math.abs(a - b) < 1e-12, `${msg}: ${a} != ${b}`);

test('VQA normalisation: numbers, articles, punctuation, contractions (process_answer)', () => {
  // [answer, process_answer(answer)]; the 40-period case shows re.sub(..., re.UNICODE) removing 32 periods only
  for (const [a, e] of [["Two dogs.", "2 dogs"], ["the cat", "cat"], ["It's 3,000!", "it's 3000"], ["none", "0"], ["a b-c", "b c"], ["1.5 .", "1.5"], ["don't", "don't"], ["dont", "don't"], ["Yes, it is.", "yes it is"], ["hello(world)", "hello world"], ["x/y", "x y"], ["ten apples", "10 apples"], ["a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.a.a.a.a.a.a.a."], ["An apple; a pear", "apple pear"], ["3.14", "3.14"], ["e.g. this", "eg this"], ["Hello\tWorld\n", "hello world"], ["50%", "50%"], ["#1 rank", "#1 rank"], ["one-two", "1 2"], ["THE END", "end"]]) assert.equal(processAnswer(a), e, JSON.stringify(a));
});

test('TextVQA accuracy over the ten answers (vqa_score)', () => {
  // [answer, prediction, process_line(...)['match'], hit_calculate(..., 'TextVQA')]
  for (const [a, p, match, hit] of [["['two', 'two', '2', 'two', 'three', 'two', 'two', 'two', 'two', 'two']", "2", [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 1.0], ["['two', 'two', '2', 'two', 'three', 'two', 'two', 'two', 'two', 'two']", "three", [0.3333333333333333, 0.3333333333333333, 0.3333333333333333, 0.3333333333333333, 0.0, 0.3333333333333333, 0.3333333333333333, 0.3333333333333333, 0.3333333333333333, 0.3333333333333333], 0.3], ["['a', 'b', 'b', 'c']", "b", [0.6666666666666666, 0.3333333333333333, 0.3333333333333333, 0.6666666666666666], 0.5], ["cat", "the cat", [0.0], 0.0], ["['Coca-Cola', 'coca cola', 'coca-cola', 'cocacola']", "Coca Cola.", [0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 1], 0.75]]) {
    const m = processLine(a, p, 'vqa_score');
    m.forEach((x, i) => close(x, match[i], `${a} / ${p}`));
    close(hitOf(m, 'vqa_score'), hit, `${a} / ${p}`);
  }
});

test('ChartQA relaxed accuracy (relaxed_correctness, within 5%; percentages; zero targets compare as text)', () => {
  for (const [t, p, e] of [["12", "12.5", true], ["12", "13", false], ["50%", "0.5", true], ["0", "0", true], ["0", "0.0", false], ["Yes", "yes", true], ["1,000", "1000", false], ["12", " 12 ", true], ["1e3", "1000", true], ["12%", "12%", true], ["1_000", "1000", true], ["-5", "-5.2", true], ["3", "three", false], ["0.5", "50%", true], ["100", "95", true], ["100", "94.9", false]]) assert.equal(relaxedCorrectness(t, p), e, `${t} / ${p}`);
  for (const [a, p, e] of [["['12', '13']", "12.4", true], ["42", "forty-two", false], ["['no']", "No", true]]) assert.equal(hitOf(processLine(a, p, 'relaxed_accuracy'), 'relaxed_accuracy'), Number(e), `${a} / ${p}`);
});

test('ANLS: normalised edit distance and the 0.5 threshold (DocVQA)', () => {
  for (const [g, p, e] of [["hello", "helo", 0.2], ["Hello World", "hello  world", 0.0], ["abc", "xyz", 1.0], ["", "", 0.0], ["ab", "abcd", 0.5], ["straße", "strasse", 0.2857142857142857], ["1,234", "1234", 0.2], ["Dr. Smith", " dr. smith ", 0.0]]) close(anlsCompute(g, p), e, `${g} / ${p}`);
  // [answer, prediction, hit_calculate(..., 'DocVQA')]: below 0.5 similarity scores 0
  for (const [a, p, e] of [["['hello', 'help']", "helo", 0.8], ["['abc']", "abd", 0.6666666666666667], ["['abc']", "xyz", 0.0], ["['yes', 'Yes.']", "yes", 1.0], ["abcd", "abce", 0.75], ["abcdef", "abcxyz", 0.5]]) close(hitOf(processLine(a, p, 'anls'), 'anls'), e, `${a} / ${p}`);
});

test('OCRVQA exact match and the default normalised match', () => {
  for (const [a, p, e] of [["Harry Potter", " harry potter ", 1.0], ["['x', 'Harry Potter']", "harry potter", 1.0], ["Harry Potter", "Harry Potter.", 0.0]]) assert.equal(hitOf(processLine(a, p, 'accuracy'), 'accuracy'), e, `${a} / ${p}`);
  for (const [a, p, e] of [["['cat', 'a cat']", "Cat.", 1.0], ["dog", "cat", 0.0]]) assert.equal(hitOf(processLine(a, p, 'exact'), 'exact'), e, `${a} / ${p}`);
});
