// Comparing greedy answers of runs that differ only in how the work was batched.
//
// Two greedy runs of one request are bit-identical only when every floating-point sum is taken in
// the same order. Batching changes that order: which tokens share a `llama_decode`, where a
// sequence's cells sit in the KV pool (ggml's SIMD lanes group the attention sums by cell offset),
// and whether a prefix came from a slot's cache. The logits then differ in their last bits, which
// the F16 KV cache turns into 1e-3 to 1e-2 in a log-probability, and where the two best tokens are
// closer than that, greedy may take the other one.
//
// The random-weight fixtures have a nearly flat distribution (top log-probabilities near -7), so
// such near-ties do occur: on the tiny fixture, 8 of 60 histories of the unified pool turned the
// landscape request's 8th token from 8087 (log-probability -6.84295) to 17294 (-6.84156). So these
// tests compare tokens, and accept a divergence only where it is a near-tie:
// - along the common prefix, every log-probability agrees within DRIFT;
// - at the first different token, each run's own choice has the same log-probability within DRIFT.
//   That follows from the first: if run A took X and run B took Y, then
//   lpA(X) - lpB(Y) <= lpA(X) - lpB(X) and lpB(Y) - lpA(X) <= lpB(Y) - lpA(Y), each within the
//   drift of one token's log-probability.
// After the first different token nothing is compared: the two answers go their own ways.
//
// DRIFT is 0.02. Seen, as the largest difference along a common prefix: 0.0075 over 40 rounds of
// the concurrency tests with random arrival delays, and 0.0047 over 4 runs of every test that uses
// this file (prefix, structured, server load, LoRA). The near-ties seen were within 0.0014.
// What a wrong answer looks like: between the answers of 12 different requests, the median
// difference at the first different token was 0.18, and 3 pairs in 66 were within 0.02. So one
// wrong answer passes as a near-tie about 1 time in 20; a fault that touches several answers (another
// slot's cells, the wrong image or adapter) passes only if every one of them does. The LoRA tests
// check first that this comparison tells their weight sets apart.
// Requests must ask for `tokens: true, logprobs: true`.
import assert from 'node:assert/strict';

export const DRIFT = 0.02;

/**
 * Asserts that `actual` is the greedy answer `expected` up to a near-tie.
 * Returns null when the tokens are equal, else the index of the near-tie where they part.
 */
export function assertSameGreedy(actual, expected, label = 'answer') {
  for (const [name, r] of [['actual', actual], ['expected', expected]]) {
    if (!Array.isArray(r?.tokens) || !Array.isArray(r?.logprobs) || r.tokens.length !== r.logprobs.length) {
      throw new TypeError(`${label}: the ${name} result needs tokens and logprobs of one length (tokens: true, logprobs: true)`);
    }
  }
  const a = actual.tokens, e = expected.tokens;
  let k = 0;
  while (k < a.length && k < e.length && a[k] === e[k]) k++;
  for (let j = 0; j < k; j++) {
    const d = Math.abs(actual.logprobs[j] - expected.logprobs[j]);
    assert.ok(d <= DRIFT, `${label}: token ${j} (${a[j]}) is the same but its log-probability differs by ${d.toFixed(5)} ` +
      `(${actual.logprobs[j]} vs ${expected.logprobs[j]}; more than ${DRIFT}): not rounding`);
  }
  if (k === a.length && k === e.length) {
    assert.equal(actual.text, expected.text, `${label}: the same tokens but another text`);
    return null;
  }
  const detail = `${label}: parts at token ${k} of ${e.length} expected / ${a.length} actual; ` +
    `expected ${e[k] ?? '(end)'} (log-probability ${expected.logprobs[k] ?? '-'}, finish ${expected.finishReason}), ` +
    `actual ${a[k] ?? '(end)'} (${actual.logprobs[k] ?? '-'}, finish ${actual.finishReason})`;
  // One ended where the other went on: an end-of-generation token has no log-probability here, so
  // a near-tie with it cannot be shown.
  assert.ok(k < a.length && k < e.length, `${detail}; one answer ended early, a near-tie cannot be shown`);
  const d = Math.abs(actual.logprobs[k] - expected.logprobs[k]);
  assert.ok(d <= DRIFT, `${detail}; the log-probabilities differ by ${d.toFixed(5)}, more than a near-tie (${DRIFT})`);
  return k;
}

/** `result` with its token ids turned into their text pieces, as the server's logprobs list them. */
export async function withPieces(model, result) {
  return { ...result, tokens: await Promise.all(result.tokens.map((t) => model.detokenize([t]))) };
}

/**
 * assertSameGreedy for each answer of a list against its expected one (`label(i)` names them); a
 * near-tie is reported as a test diagnostic, for a reader of the TAP output.
 */
export function assertSameAnswers(t, actual, expected, label = (i) => `request ${i + 1}`) {
  assert.equal(actual.length, expected.length, 'as many answers as expected');
  actual.forEach((r, i) => {
    const tie = assertSameGreedy(r, expected[i], label(i));
    if (tie !== null) t.diagnostic(`${label(i)}: a near-tie at token ${tie} (${expected[i].tokens[tie]} / ${r.tokens[tie]})`);
  });
}

/** Precondition of a test that tells answers apart with assertSameGreedy: no two of `answers` pass it. */
export function assertToldApart(answers, label = (i) => `answer ${i}`) {
  for (let i = 0; i < answers.length; i++) {
    for (let j = i + 1; j < answers.length; j++) {
      assert.throws(() => assertSameGreedy(answers[i], answers[j]), { code: 'ERR_ASSERTION' }, `precondition: ${label(i)} and ${label(j)} are told apart`);
    }
  }
}
