#include "sampler.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace smolvlm {

SamplerPtr MakeSampler(const llama_vocab *vocab, const SamplingParams &p, SamplerPtr grammar) {
  llama_sampler_chain_params cp = llama_sampler_chain_default_params();
  cp.no_perf = true;
  SamplerPtr chain(llama_sampler_chain_init(cp));
  if (grammar) llama_sampler_chain_add(chain.get(), grammar.release());
  const int32_t n_vocab = llama_vocab_n_tokens(vocab);
  if (p.ignore_eos) {
    std::vector<llama_logit_bias> bias;
    for (llama_token t = 0; t < n_vocab; t++)
      if (llama_vocab_is_eog(vocab, t)) bias.push_back({t, -INFINITY});
    llama_sampler_chain_add(chain.get(), llama_sampler_init_logit_bias(n_vocab, static_cast<int32_t>(bias.size()), bias.data()));
  }
  if (p.repeat_penalty != 1.f) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_penalties(n_vocab, p.repeat_last_n, p.repeat_penalty, 0.f, 0.f));
  }
  if (p.temperature <= 0.f) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_greedy());
    return chain;
  }
  if (p.top_k > 0) llama_sampler_chain_add(chain.get(), llama_sampler_init_top_k(p.top_k));
  if (p.top_p < 1.f) llama_sampler_chain_add(chain.get(), llama_sampler_init_top_p(p.top_p, 1));
  if (p.min_p > 0.f) llama_sampler_chain_add(chain.get(), llama_sampler_init_min_p(p.min_p, 1));
  llama_sampler_chain_add(chain.get(), llama_sampler_init_temp(p.temperature));
  llama_sampler_chain_add(chain.get(), llama_sampler_init_dist(p.seed));
  return chain;
}

float LogProb(const float *logits, int32_t n_vocab, llama_token t) {
  float max = -INFINITY;
  for (int32_t i = 0; i < n_vocab; i++) max = std::max(max, logits[i]);
  double sum = 0;
  for (int32_t i = 0; i < n_vocab; i++) sum += std::exp(static_cast<double>(logits[i] - max));
  return static_cast<float>(logits[t] - max - std::log(sum));
}

}  // namespace smolvlm
