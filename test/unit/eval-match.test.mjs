// Expected values were computed by running VLMEvalKit's own functions (open-compass/VLMEvalKit at
// e8e78f05, source extracted unchanged with Python's ast module and executed under Python 3.11,
// pandas 1.5.3 with 'None' added to na_values as pandas 2 reads it, numpy 1.24) on these inputs.
// Functions: vlmeval/utils/matching_util.py can_infer (can_infer_option, then can_infer_text).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canInfer, canInferOption, canInferText } from '../../dist/eval/score/mcq.js';

const CHOICES = new Map([['A', 'cat'], ['B', 'dog'], ['C', 'bird']]);
// [answer, can_infer(answer, {'A': 'cat', 'B': 'dog', 'C': 'bird'})]
const CASES = [["The answer is (B)", "B"], ["B", "B"], ["A B", false], ["I think it is a dog", "B"], ["dog and cat", false], ["Answer: C. bird", "C"], ["D", false], ["The correct answer is **C**", "C"], ["Cannot determine the answer", "Z"], ["z", false], ["Z", "Z"], ["A. The image shows a cat sitting on a mat near the window.", false], ["Failed to obtain answer via API", false], ["a very long answer that mentions a dog and goes on and on", false], ["answer is a", "A"], ["(B) dog", "B"], ["B, C", false], ["The answer is A because B is wrong", "A"], ["", false], ["Bird", "C"], ["A\nB", false], ["  c  ", false], ["It is C.", "C"]];

test('can_infer gives VLMEvalKit\'s letter (or False) for each answer', () => {
  for (const [answer, expected] of CASES) assert.equal(canInfer(answer, CHOICES), expected, JSON.stringify(answer));
});

test('can_infer: "The answer is (B)", several letters, option text without a letter', () => {
  assert.equal(canInferOption('The answer is (B)', CHOICES), 'B');
  assert.equal(canInfer('A B', CHOICES), false); // two letters: no option, and no option text either
  assert.equal(canInferOption('I think it is a dog', CHOICES), false);
  assert.equal(canInferText('I think it is a dog', CHOICES), 'B');
  assert.equal(canInferText('dog and cat', CHOICES), false); // two option texts
});

test('can_infer: a letter far from the end is not taken; a refusal is Z', () => {
  assert.equal(canInferOption('A. The image shows a cat sitting on a mat near the window.', CHOICES), false);
  assert.equal(canInfer('Cannot determine the answer', CHOICES), 'Z');
});
