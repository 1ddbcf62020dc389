// What a request reports while it runs, as a plain C++ interface: the scheduler (engine thread)
// calls it, the Emitter (emitter.h) implements it on the JS side. No Napi here.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace smolvlm {

/** The end of a request: why, the error if any, usage and timings. */
struct Final {
  std::string finish_reason;  // stop | length | abort
  std::string error_code, error_message;
  int32_t prompt_tokens = 0, image_tokens = 0, cached_tokens = 0, completion_tokens = 0;
  double image_encode_ms = 0, prompt_eval_ms = 0, generation_ms = 0, ttft_ms = 0, total_ms = 0;
};

/** Events merged for one delivery to JS. */
struct EventBatch {
  std::string text;
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;
  std::optional<Final> final;
};

class RequestEvents {
 public:
  virtual ~RequestEvents() = default;
  /** [any thread, non-blocking] New text, with the token id and log-probability when asked for. */
  virtual void Delta(const std::string &text, std::optional<int32_t> token, std::optional<float> logprob) = 0;
  /** [any thread, non-blocking] Deliver what is pending now (before a long operation). */
  virtual void Flush() = 0;
  /** [any thread, non-blocking] The last event; later calls do nothing. */
  virtual void Finish(Final final) = 0;
};

}  // namespace smolvlm
