#include "request.h"

#include <algorithm>

namespace smolvlm {
namespace {

double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

}  // namespace

Final Request::Summary(const std::string &reason, const char *err_code, const std::string &err_msg, Clock::time_point now) const {
  Final f;
  f.finish_reason = reason;
  if (err_code) {
    f.error_code = err_code;
    f.error_message = err_msg;
  }
  f.prompt_tokens = n_prompt;
  f.image_tokens = n_image_tokens;
  f.cached_tokens = n_cached;
  f.completion_tokens = n_generated;
  f.image_encode_ms = encode_ms;
  f.total_ms = Ms(t_submit, now);
  if (n_generated > 0 || generating) {
    const auto first = n_generated > 0 ? t_first : now;
    f.ttft_ms = Ms(t_submit, first);
    f.prompt_eval_ms = std::max(0.0, Ms(t_start, first) - encode_ms);
    f.generation_ms = Ms(first, now);
  }
  return f;
}

}  // namespace smolvlm
