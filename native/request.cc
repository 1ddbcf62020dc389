#include "request.h"

#include "errors.h"

#include <algorithm>
#include <cmath>

namespace smolvlm {

// ---- TextStream ----

namespace {

// Length of a UTF-8 sequence from its lead byte; 0 for a continuation or invalid byte.
size_t SeqLen(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return c >= 0xC2 ? 2 : 0;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return c <= 0xF4 ? 4 : 0;
  return 0;
}

// Moves `cut` back so that it does not fall inside a character that later bytes could complete.
// Invalid bytes are released as they are: a decoder replaces them the same way in any split.
size_t SafeCut(const std::string &s, size_t cut) {
  for (size_t back = 1; back <= 3 && back <= cut; back++) {
    unsigned char c = static_cast<unsigned char>(s[cut - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation: keep looking for the lead
    size_t len = SeqLen(c);
    return (len > back) ? cut - back : cut;
  }
  return cut;
}

}  // namespace

std::string TextStream::Push(const std::string &piece, bool &stopped) {
  buf_ += piece;
  size_t stop_at = std::string::npos;
  for (const auto &s : stops_) {
    if (s.empty()) continue;
    size_t p = buf_.find(s);
    if (p != std::string::npos && p < stop_at) stop_at = p;
  }
  if (stop_at != std::string::npos) {
    stopped = true;
    std::string out = buf_.substr(0, stop_at);
    buf_.clear();
    return out;
  }
  size_t hold = 0;
  for (const auto &s : stops_) {
    for (size_t k = std::min(s.size() - (s.empty() ? 0 : 1), buf_.size()); k > hold; k--) {
      if (buf_.compare(buf_.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
    }
  }
  size_t cut = SafeCut(buf_, buf_.size() - hold);
  std::string out = buf_.substr(0, cut);
  buf_.erase(0, cut);
  return out;
}

std::string TextStream::Flush() { return std::exchange(buf_, {}); }

// ---- Emitter ----

Emitter::Emitter(Napi::Env env, Napi::Function on_event) {
  tsfn_ = Napi::ThreadSafeFunction::New(env, on_event, "smolvlm:generate", 0, 1);
}

void Emitter::ScheduleLocked() {
  if (pending_.scheduled) return;
  pending_.scheduled = true;
  keep_alive_ = self.lock();
  napi_status st = tsfn_.NonBlockingCall(this, Deliver);
  if (st != napi_ok) {  // environment closing: nobody to deliver to
    pending_.scheduled = false;
    keep_alive_.reset();
  }
}

void Emitter::Delta(const std::string &text, std::optional<llama_token> token, std::optional<float> logprob) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  pending_.text += text;
  if (token) pending_.tokens.push_back(*token);
  if (logprob) pending_.logprobs.push_back(*logprob);
  if (pending_.text.empty() && pending_.tokens.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  if (!sent_any_ || now - last_sent_ >= kCoalesce) {
    sent_any_ = true;
    last_sent_ = now;
    ScheduleLocked();
  }
}

void Emitter::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_ || (pending_.text.empty() && pending_.tokens.empty())) return;
  last_sent_ = std::chrono::steady_clock::now();
  ScheduleLocked();
}

void Emitter::Finish(Final final) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  pending_.final = std::move(final);
  ScheduleLocked();
  tsfn_.Release();
}

void Emitter::Deliver(Napi::Env env, Napi::Function fn, Emitter *self) {
  Pending batch;
  std::shared_ptr<Emitter> keep;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    batch = std::move(self->pending_);
    self->pending_ = Pending{};
    keep = std::move(self->keep_alive_);
  }
  if (env == nullptr) return;
  Napi::HandleScope scope(env);
  Napi::Object ev = Napi::Object::New(env);
  if (!batch.text.empty()) ev.Set("text", Napi::String::New(env, batch.text));
  if (!batch.tokens.empty()) {
    auto arr = Napi::Int32Array::New(env, batch.tokens.size());
    std::copy(batch.tokens.begin(), batch.tokens.end(), arr.Data());
    ev.Set("tokens", arr);
  }
  if (!batch.logprobs.empty()) {
    auto arr = Napi::Float32Array::New(env, batch.logprobs.size());
    std::copy(batch.logprobs.begin(), batch.logprobs.end(), arr.Data());
    ev.Set("logprobs", arr);
  }
  if (batch.final) {
    const Final &f = *batch.final;
    if (!f.error_code.empty()) {
      Napi::Object err = Napi::Object::New(env);
      err.Set("code", f.error_code);
      err.Set("message", f.error_message);
      ev.Set("error", err);
    }
    Napi::Object done = Napi::Object::New(env);
    done.Set("finishReason", f.finish_reason);
    Napi::Object usage = Napi::Object::New(env);
    usage.Set("promptTokens", f.prompt_tokens);
    usage.Set("imageTokens", f.image_tokens);
    usage.Set("completionTokens", f.completion_tokens);
    usage.Set("totalTokens", f.prompt_tokens + f.completion_tokens);
    done.Set("usage", usage);
    Napi::Object t = Napi::Object::New(env);
    t.Set("imageEncodeMs", f.image_encode_ms);
    t.Set("promptEvalMs", f.prompt_eval_ms);
    t.Set("promptTokensPerSecond", f.prompt_eval_ms > 0 ? f.prompt_tokens / (f.prompt_eval_ms / 1000.0) : 0.0);
    t.Set("generationMs", f.generation_ms);
    t.Set("tokensPerSecond", f.generation_ms > 0 && f.completion_tokens > 1 ? (f.completion_tokens - 1) / (f.generation_ms / 1000.0) : 0.0);
    t.Set("timeToFirstTokenMs", f.ttft_ms);
    t.Set("totalMs", f.total_ms);
    done.Set("timings", t);
    ev.Set("done", done);
  }
  fn.Call({ev});
}

// ---- Request ----

Request::~Request() {
  if (sampler) llama_sampler_free(sampler);
}

llama_sampler *MakeSampler(const llama_vocab *vocab, const SamplingParams &p) {
  llama_sampler_chain_params cp = llama_sampler_chain_default_params();
  cp.no_perf = true;
  llama_sampler *chain = llama_sampler_chain_init(cp);
  if (p.ignore_eos) {
    std::vector<llama_logit_bias> bias;
    for (llama_token t = 0; t < llama_vocab_n_tokens(vocab); t++)
      if (llama_vocab_is_eog(vocab, t)) bias.push_back({t, -INFINITY});
    llama_sampler_chain_add(chain, llama_sampler_init_logit_bias(llama_vocab_n_tokens(vocab), static_cast<int32_t>(bias.size()), bias.data()));
  }
  if (p.repeat_penalty != 1.f) {
    llama_sampler_chain_add(chain, llama_sampler_init_penalties(llama_vocab_n_tokens(vocab), p.repeat_last_n,
                                                                p.repeat_penalty, 0.f, 0.f));
  }
  if (p.temperature <= 0.f) {
    llama_sampler_chain_add(chain, llama_sampler_init_greedy());
    return chain;
  }
  if (p.top_k > 0) llama_sampler_chain_add(chain, llama_sampler_init_top_k(p.top_k));
  if (p.top_p < 1.f) llama_sampler_chain_add(chain, llama_sampler_init_top_p(p.top_p, 1));
  if (p.min_p > 0.f) llama_sampler_chain_add(chain, llama_sampler_init_min_p(p.min_p, 1));
  llama_sampler_chain_add(chain, llama_sampler_init_temp(p.temperature));
  llama_sampler_chain_add(chain, llama_sampler_init_dist(p.seed));
  return chain;
}

}  // namespace smolvlm
