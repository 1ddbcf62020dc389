// test/same-greedy.mjs: greedy answers compared up to a near-tie, and every way it must fail.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DRIFT, assertSameGreedy, assertToldApart } from '../same-greedy.mjs';

const run = (tokens, logprobs, finishReason = 'length') => ({ text: tokens.join(' '), tokens, logprobs, finishReason });
const lp = [-7.1976, -6.9854, -7.1511, -6.9167];

test('equal tokens with rounding-sized drift pass and report no tie', () => {
  assert.equal(assertSameGreedy(run([1, 2, 3, 4], lp.map((x) => x + 0.003)), run([1, 2, 3, 4], lp)), null);
});

test('a divergence with the same log-probability is a near-tie at its index', () => {
  const e = run([1, 2, 8087, 5], [-7.1, -6.9, -6.842953, -7.3]);
  const a = run([1, 2, 17294, 9], [-7.1, -6.9, -6.841557, -7.0]);
  assert.equal(assertSameGreedy(a, e), 2);
});

test('a divergence with another log-probability fails and says where', () => {
  const e = run([1, 2, 3], [-7.1, -6.9, -6.84]);
  const a = run([1, 2, 4], [-7.1, -6.9, -6.84 + DRIFT * 2]);
  assert.throws(() => assertSameGreedy(a, e, 'request 2'), (err) => err.code === 'ERR_ASSERTION' && /request 2: parts at token 2/.test(err.message) && /more than a near-tie/.test(err.message));
});

test('the same tokens with a shifted distribution fail', () => {
  const e = run([1, 2, 3], [-7.1, -6.9, -6.84]);
  const a = run([1, 2, 3], [-7.1, -6.9 + DRIFT * 2, -6.84]);
  assert.throws(() => assertSameGreedy(a, e), /token 1 \(2\) is the same but its log-probability differs/);
});

test('an answer that ends early, either one, cannot be a shown near-tie', () => {
  assert.throws(() => assertSameGreedy(run([1, 2], lp.slice(0, 2), 'stop'), run([1, 2, 3], lp.slice(0, 3))), /ended early/);
  assert.throws(() => assertSameGreedy(run([1, 2, 3], lp.slice(0, 3)), run([1, 2], lp.slice(0, 2), 'stop')), /ended early/);
  assert.throws(() => assertSameGreedy(run([1], lp.slice(0, 1)), run([], [], 'stop')), /ended early/);
});

test('two empty answers are the same; text pieces compare as tokens (the server lists pieces)', () => {
  assert.equal(assertSameGreedy(run([], []), run([], [])), null);
  assert.equal(assertSameGreedy(run(['a', ' b'], lp.slice(0, 2)), run(['a', ' b'], lp.slice(0, 2))), null);
  assert.equal(assertSameGreedy(run(['a', ' c'], [-7, -6.9]), run(['a', ' b'], [-7, -6.901])), 1);
  assert.throws(() => assertSameGreedy(run(['a', ' c'], [-7, -6.5]), run(['a', ' b'], [-7, -6.9])), /more than a near-tie/);
});

test('the same tokens with another text fail', () => {
  assert.throws(() => assertSameGreedy({ ...run([1, 2], lp.slice(0, 2)), text: 'x' }, run([1, 2], lp.slice(0, 2))), /another text/);
});

test('results without tokens or logprobs are a TypeError, not a pass', () => {
  assert.throws(() => assertSameGreedy({ text: 'a' }, run([1], [-1])), TypeError);
  assert.throws(() => assertSameGreedy(run([1], [-1]), { text: 'a', tokens: [1], logprobs: [] }), TypeError);
});

test('assertToldApart: passes for answers that differ, fails naming a pair that passes as the same', () => {
  const a = run([1, 2], [-7, -6.9]), b = run([1, 3], [-7, -6.5]), c = run([1, 4], [-7, -6.901]);
  assertToldApart([a, b]);
  assert.throws(() => assertToldApart([a, b, c], (i) => `set ${i}`), /set 0 and set 2 are told apart/);
});
