// The JS side of a request's events: a thread-safe function with at most one call queued at a
// time, so a fast generation does not wake the JS thread (and preempt a compute thread) for every
// token, and a busy JS thread gets larger merged deltas instead of a growing queue.
#pragma once
#include <napi.h>

#include <chrono>
#include <memory>
#include <mutex>

#include "events.h"

namespace smolvlm {

class Emitter : public RequestEvents, public std::enable_shared_from_this<Emitter> {
 public:
  /**
   * [sync, JS thread] Events go to `on_event` (one NativeEvent object per delivery). Without
   * `stream`, deltas are held and go with the final event: one call per request.
   */
  static std::shared_ptr<Emitter> New(Napi::Env env, Napi::Function on_event, bool stream);
  /** Streaming: the first delta goes to JS at once; later ones at most every kCoalesce. */
  void Delta(const std::string &text, std::optional<int32_t> token, std::optional<float> logprob) override;
  void Flush() override;
  /** Releases the thread-safe function. */
  void Finish(Final final) override;

 private:
  Emitter() = default;
  void ScheduleLocked();
  static void Deliver(Napi::Env env, Napi::Function fn, Emitter *self);

  static constexpr std::chrono::milliseconds kCoalesce{16};
  Napi::ThreadSafeFunction tsfn_;
  std::mutex mu_;
  EventBatch pending_;
  bool scheduled_ = false;  // a call to Deliver is queued
  bool finished_ = false;
  bool sent_any_ = false;
  bool stream_ = true;
  std::chrono::steady_clock::time_point last_sent_{};
  std::shared_ptr<Emitter> keep_alive_;  // set while a call is queued
};

}  // namespace smolvlm
