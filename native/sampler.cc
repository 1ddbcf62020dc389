#include "sampler.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace smolvlm {

namespace {

// The largest of x[0..n) that compares greater than -inf, NaN never taken (x > m fails for it):
// eight independent lanes, so the compiler can keep them in one vector register.
float MaxOf(const float *x, int32_t n) {
  float lane[8];
  for (float &l : lane) l = -INFINITY;
  int32_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) lane[j] = x[i + j] > lane[j] ? x[i + j] : lane[j];
  float m = -INFINITY;
  for (; i < n; i++) m = x[i] > m ? x[i] : m;
  for (float l : lane) m = l > m ? l : m;
  return m;
}

}  // namespace

Sampler MakeSampler(const llama_vocab *vocab, const SamplingParams &p, SamplerPtr grammar) {
  llama_sampler_chain_params cp = llama_sampler_chain_default_params();
  cp.no_perf = true;
  Sampler s;
  s.chain.reset(llama_sampler_chain_init(cp));
  llama_sampler *chain = s.chain.get();
  s.argmax = !grammar && p.repeat_penalty == 1.f && p.temperature <= 0.f;
  if (grammar) llama_sampler_chain_add(chain, grammar.release());
  const int32_t n_vocab = llama_vocab_n_tokens(vocab);
  s.n_vocab = n_vocab;
  if (p.ignore_eos) {
    std::vector<llama_logit_bias> bias;
    for (llama_token t = 0; t < n_vocab; t++)
      if (llama_vocab_is_eog(vocab, t)) bias.push_back({t, -INFINITY}), s.banned.push_back(t);
    llama_sampler_chain_add(chain, llama_sampler_init_logit_bias(n_vocab, static_cast<int32_t>(bias.size()), bias.data()));
  }
  if (p.repeat_penalty != 1.f) {
    llama_sampler_chain_add(chain, llama_sampler_init_penalties(n_vocab, p.repeat_last_n, p.repeat_penalty, 0.f, 0.f));
  }
  if (p.temperature <= 0.f) {
    llama_sampler_chain_add(chain, llama_sampler_init_greedy());
    return s;
  }
  if (p.top_k > 0) llama_sampler_chain_add(chain, llama_sampler_init_top_k(p.top_k));
  if (p.top_p < 1.f) llama_sampler_chain_add(chain, llama_sampler_init_top_p(p.top_p, 1));
  if (p.min_p > 0.f) llama_sampler_chain_add(chain, llama_sampler_init_min_p(p.min_p, 1));
  llama_sampler_chain_add(chain, llama_sampler_init_temp(p.temperature));
  llama_sampler_chain_add(chain, llama_sampler_init_dist(p.seed));
  return s;
}

llama_token Sample(Sampler &s, llama_context *ctx, int32_t idx) {
  // llama_sampler_greedy over logits where the banned tokens got -inf added: it starts at token 0
  // and moves only to a strictly larger logit, so it ends at the first token holding the largest
  // one. That is the token found here whenever the largest allowed logit is above -inf and token 0's
  // logit is finite (a NaN there would stay selected); otherwise the chain decides.
  const float *l = s.argmax ? llama_get_logits_ith(ctx, idx) : nullptr;
  if (l && std::isfinite(l[0])) {
    float m = -INFINITY;
    int32_t from = 0;
    for (llama_token b : s.banned) {
      m = std::max(m, MaxOf(l + from, b - from));
      from = b + 1;
    }
    m = std::max(m, MaxOf(l + from, s.n_vocab - from));
    if (m > -INFINITY) {
      for (int32_t i = 0; i < s.n_vocab; i++)
        if (l[i] == m && !std::binary_search(s.banned.begin(), s.banned.end(), i)) return i;  // greedy and bias keep no state to accept
    }
  }
  return llama_sampler_sample(s.chain.get(), ctx, idx);
}

float LogProb(const float *logits, int32_t n_vocab, llama_token t) {
  float max = -INFINITY;
  for (int32_t i = 0; i < n_vocab; i++) max = std::max(max, logits[i]);
  double sum = 0;
  for (int32_t i = 0; i < n_vocab; i++) sum += std::exp(static_cast<double>(logits[i] - max));
  return static_cast<float>(logits[t] - max - std::log(sum));
}

}  // namespace smolvlm
