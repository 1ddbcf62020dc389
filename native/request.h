// One generate() call: its inputs (copied from JS), its sampler, its text stream (UTF-8 safe,
// stop strings) and the channel that sends coalesced deltas back to JS.
#pragma once
#include <napi.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "llama.h"
#include "mtmd-helper.h"
#include "mtmd.h"
#include "prompt.h"

namespace smolvlm {

struct SamplingParams {
  float temperature = 0.f;  // 0 = greedy
  int32_t top_k = 40;
  float top_p = 0.95f;
  float min_p = 0.05f;
  float repeat_penalty = 1.f;  // 1 = off
  int32_t repeat_last_n = 64;
  uint32_t seed = LLAMA_DEFAULT_SEED;
  bool ignore_eos = false;  // end-of-generation tokens get -inf (benchmarks, fixed lengths)
};

/**
 * Text released to the user: never splits a UTF-8 character that may still be completed, and
 * holds back any tail that could be the start of a stop string.
 */
class TextStream {
 public:
  explicit TextStream(std::vector<std::string> stops = {}) : stops_(std::move(stops)) {}
  /** Appends a token's bytes; returns what can be released now. Sets `stopped` on a stop string. */
  std::string Push(const std::string &piece, bool &stopped);
  /** Releases everything held back (end of generation). */
  std::string Flush();

 private:
  std::vector<std::string> stops_;
  std::string buf_;
};

/** Where a request's events go: a thread-safe function with at most one call queued at a time. */
class Emitter {
 public:
  struct Final {
    std::string finish_reason;  // stop | length | abort
    std::string error_code, error_message;
    int32_t prompt_tokens = 0, image_tokens = 0, completion_tokens = 0;
    double image_encode_ms = 0, prompt_eval_ms = 0, generation_ms = 0, ttft_ms = 0, total_ms = 0;
  };
  Emitter(Napi::Env env, Napi::Function on_event);
  /**
   * Adds a delta. The first one goes to JS at once; later ones at most every kCoalesce, so a fast
   * generation does not wake the JS thread (and preempt a compute thread) for every token.
   */
  void Delta(const std::string &text, std::optional<llama_token> token, std::optional<float> logprob);
  /** Sends whatever is pending now (before the engine starts a long operation). */
  void Flush();
  /** Last event; releases the thread-safe function. Idempotent. */
  void Finish(Final final);

 private:
  struct Pending {
    std::string text;
    std::vector<int32_t> tokens;
    std::vector<float> logprobs;
    std::optional<Final> final;
    bool scheduled = false;
  };
  void ScheduleLocked();
  static void Deliver(Napi::Env env, Napi::Function fn, Emitter *self);

  static constexpr std::chrono::milliseconds kCoalesce{16};
  Napi::ThreadSafeFunction tsfn_;
  std::mutex mu_;
  Pending pending_;
  bool finished_ = false;
  bool sent_any_ = false;
  std::chrono::steady_clock::time_point last_sent_{};
  std::shared_ptr<Emitter> keep_alive_;  // set while a call is queued

 public:
  std::weak_ptr<Emitter> self;
};

struct RequestParams {
  std::string prompt;  // already templated; images at media markers
  bool add_special = true;
  bool parse_special = true;
  int32_t max_tokens = -1;  // -1: until the context is full
  SamplingParams sampling;
  std::vector<std::string> stop;
  bool want_tokens = false;
  bool want_logprobs = false;
};

using Clock = std::chrono::steady_clock;

struct Request {
  uint64_t id = 0;
  RequestParams params;
  std::vector<PromptImage> images;  // until Prepare tokenizes them
  std::atomic<bool> aborted{false};
  std::shared_ptr<Emitter> emitter;

  // Engine-thread state: the tokenized prompt and how far it is evaluated.
  Prompt prompt;
  size_t segment = 0;        // next segment to evaluate
  size_t offset = 0;         // tokens of the current text segment already decoded
  int32_t n_prompt = 0, n_image_tokens = 0, n_generated = 0;
  int32_t reservation = 0;   // KV cells promised to this request
  llama_pos n_past = 0;
  llama_sampler *sampler = nullptr;
  llama_token last_token = -1;
  bool prepared = false;    // tokenized (Prepare ran)
  bool generating = false;
  TextStream stream;
  Clock::time_point t_submit, t_start, t_first;
  double encode_ms = 0;

  ~Request();
};

/** Builds the sampler chain for `p` (penalties, top-k, top-p, min-p, temperature, dist | greedy). */
llama_sampler *MakeSampler(const llama_vocab *vocab, const SamplingParams &p);

}  // namespace smolvlm
