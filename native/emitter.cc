#include "emitter.h"

#include "js.h"

namespace smolvlm {

std::shared_ptr<Emitter> Emitter::New(Napi::Env env, Napi::Function on_event, bool stream) {
  std::shared_ptr<Emitter> e(new Emitter());
  e->stream_ = stream;
  e->tsfn_ = Napi::ThreadSafeFunction::New(env, on_event, "smolvlm:generate", 0, 1);
  return e;
}

void Emitter::ScheduleLocked() {
  if (scheduled_) return;
  scheduled_ = true;
  keep_alive_ = shared_from_this();
  napi_status st = tsfn_.NonBlockingCall(this, Deliver);
  if (st != napi_ok) {  // environment closing: nobody to deliver to
    scheduled_ = false;
    keep_alive_.reset();
  }
}

void Emitter::Delta(const std::string &text, std::optional<int32_t> token, std::optional<float> logprob) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  pending_.text += text;
  if (token) pending_.tokens.push_back(*token);
  if (logprob) pending_.logprobs.push_back(*logprob);
  if (!stream_ || (pending_.text.empty() && pending_.tokens.empty())) return;
  const auto now = std::chrono::steady_clock::now();
  if (!sent_any_ || now - last_sent_ >= kCoalesce) {
    sent_any_ = true;
    last_sent_ = now;
    ScheduleLocked();
  }
}

void Emitter::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_ || !stream_ || (pending_.text.empty() && pending_.tokens.empty())) return;
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
  EventBatch batch;
  std::shared_ptr<Emitter> keep;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    batch = std::exchange(self->pending_, EventBatch{});
    self->scheduled_ = false;
    keep = std::move(self->keep_alive_);
  }
  if (env == nullptr) return;
  Napi::HandleScope scope(env);
  fn.Call({js::Event(env, batch)});
}

}  // namespace smolvlm
