// Comparing greedy answers of runs that differ only in how the work was batched.
//
// Two greedy runs of one request are bit-identical only when every floating-point sum is taken in
// the same order. Batching changes that order: which tokens share a `llama_decode`, where a
// sequence's cells sit in the KV pool (ggml's SIMD lanes group the attention sums by cell offset),
// and whether a prefix came from a slot's cache. The logits then differ in their last bits (the
// F16 KV cache turns that into about 1e-3 in a log-probability), and where the two best tokens
// are closer than that, greedy may take the other one. llama.cpp's own server behaves the same.
//
// The random-weight fixtures have a nearly flat distribution (top log-probabilities near -7), so
// such near-ties do occur: measured on the tiny fixture, 8 of 60 histories of the unified pool
// turned the landscape request's 8th token from 8087 (log-probability -6.84295) to 17294
// (-6.84156). So these tests compare tokens, and accept a divergence only where it is a near-tie:
// - along the common prefix, every log-probability agrees within PREFIX_DRIFT (seen: <= 0.0075
//   over 40 rounds of the concurrency tests);
// - at the first different token, both runs gave their own choice the same log-probability within
//   NEAR_TIE (seen: <= 0.0014). A real bug (another slot's cells, the wrong image, a lost prefix)
//   leaves a distribution that differs by far more: between the answers of 12 different requests
//   the median difference at the first different token was 0.18, and 1 pair in 66 was within 0.01.
// Requests must ask for `tokens: true, logprobs: true`.
import assert from 'node:assert/strict';

export const PREFIX_DRIFT = 0.05;
export const NEAR_TIE = 0.02;

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
    assert.ok(d <= PREFIX_DRIFT, `${label}: token ${j} (${a[j]}) is the same but its log-probability differs by ${d.toFixed(5)} ` +
      `(${actual.logprobs[j]} vs ${expected.logprobs[j]}; more than ${PREFIX_DRIFT}): not rounding`);
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
  assert.ok(d <= NEAR_TIE, `${detail}; the log-probabilities differ by ${d.toFixed(5)}, more than a near-tie (${NEAR_TIE})`);
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
