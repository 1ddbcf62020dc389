// The sampler chain of a request, and the log-probability of a sampled token.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "llama.h"

namespace smolvlm {

/** Sampling settings as JS sent them (lib/binding.ts NativeGenerateParams). */
struct SamplingParams {
  float temperature = 0.f;  // 0 = greedy
  int32_t top_k = 0;
  float top_p = 0.f;
  float min_p = 0.f;
  float repeat_penalty = 0.f;  // 1 = off
  int32_t repeat_last_n = 0;
  uint32_t seed = 0;
  bool ignore_eos = false;  // end-of-generation tokens get -inf (benchmarks, fixed lengths)
};

struct SamplerFree {
  void operator()(llama_sampler *s) const { llama_sampler_free(s); }
};
using SamplerPtr = std::unique_ptr<llama_sampler, SamplerFree>;

/** A request's sampler: llama.cpp's chain, and what Sample may take straight from the logits. */
struct Sampler {
  SamplerPtr chain;
  /**
   * The chain is greedy after nothing but ignoreEos's bans (no grammar, no penalty): Sample takes
   * the first largest logit itself, the token llama_sampler_greedy picks, without filling and
   * scanning an n_vocab-entry candidate array.
   */
  bool argmax = false;
  int32_t n_vocab = 0;
  std::vector<llama_token> banned;  // ascending: the end-of-generation tokens under ignoreEos
};

/**
 * [sync] The chain for `p`, in llama.cpp's usual order: the request's grammar (grammar.h; may be
 * null) first, so every later stage sees only tokens the grammar allows, then logit bias
 * (ignoreEos), repeat penalty, then greedy at temperature 0, else top-k, top-p, min-p,
 * temperature and a seeded draw. The chain owns `grammar` and advances it on every accepted token.
 */
Sampler MakeSampler(const llama_vocab *vocab, const SamplingParams &p, SamplerPtr grammar);

/**
 * [sync] The token for output `idx` of the last decode: the one llama_sampler_sample(chain) picks,
 * always (greedy's ties go to the lowest id; logits it would see as NaN or all -inf go to the chain).
 * Throws what the chain throws (a grammar no token can continue).
 */
llama_token Sample(Sampler &s, llama_context *ctx, int32_t idx);

/** [sync] log p(t) under the softmax of `logits` (n_vocab of them). */
float LogProb(const float *logits, int32_t n_vocab, llama_token t);

}  // namespace smolvlm
