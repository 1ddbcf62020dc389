// One generate() call: its inputs (copied from JS), where its events go, and the engine thread's
// state of it (tokenized prompt, progress through it, sampler, text stream, timings).
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "events.h"
#include "image_cache.h"
#include "llama.h"
#include "lora.h"
#include "projector.h"
#include "prompt.h"
#include "sampler.h"
#include "text_stream.h"

namespace smolvlm {

/** lib/binding.ts NativeGenerateParams, as read by js::ReadGenerateParams. */
struct RequestParams {
  std::string prompt;  // already templated; images at media markers
  bool add_special = false;
  bool parse_special = false;
  int32_t max_tokens = 0;  // >= 1
  SamplingParams sampling;
  std::vector<std::string> stop;
  bool want_tokens = false;
  bool want_logprobs = false;
  bool stream = false;  // deltas as they come; else all of them with the final event
  LoraSet lora;  // the adapters it runs with (JS resolves the model's defaults)
};

using Clock = std::chrono::steady_clock;

struct Request {
  uint64_t id = 0;
  RequestParams params;
  std::vector<Image> images;  // until Prepare tokenizes them
  SamplerPtr grammar;         // compiled and checked before submit (grammar.h); the sampler chain takes it
  std::atomic<bool> aborted{false};
  std::shared_ptr<RequestEvents> events;

  // Engine-thread state: the tokenized prompt and how far it is evaluated.
  Prompt prompt;
  size_t segment = 0;        // next segment to evaluate
  size_t offset = 0;         // tokens of the current text segment already decoded
  int32_t n_prompt = 0, n_image_tokens = 0, n_generated = 0;
  int32_t n_cached = 0;      // prompt tokens reused from the slot's KV cache
  std::vector<llama_token> decoded;  // generated tokens decoded into the KV cache (all but the last)
  int32_t reservation = 0;   // KV cells promised to this request
  llama_pos n_past = 0;
  Sampler sampler;
  llama_token last_token = -1;
  bool prepared = false;    // tokenized (Prepare ran)
  bool generating = false;
  // Embeddings of tiles whose cache key recurs in this prompt (the same picture twice), kept
  // from their first encode so that the copies reuse them even when the image cache is off.
  std::unordered_map<std::string, ImageCache::Embedding> repeated_tiles;
  TextStream stream;
  Clock::time_point t_submit, t_start, t_first;
  double encode_ms = 0;

  /** [engine thread] The final event as of `now`: `reason`, the error if any, usage and timings. */
  Final Summary(const std::string &reason, const char *err_code, const std::string &err_msg, Clock::time_point now) const;
};

}  // namespace smolvlm
