// Engine: the JS object of one scheduler (scheduler.h). Copies each request's inputs from JS and
// hands them over; the scheduler's thread does the work.
#pragma once
#include <napi.h>

#include <memory>

#include "model.h"
#include "scheduler.h"

namespace smolvlm {

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  /** [sync] Defines the class (once per environment). */
  static Napi::Function Init(Napi::Env env);
  /** [async] Creates the context (a scheduler) off the JS thread; resolves with an Engine. */
  static Napi::Value Create(Napi::Env env, std::shared_ptr<ModelHandle> model, Napi::Object options);
  /** [sync] Constructed only by Create, with an External holding the scheduler. */
  explicit Engine(const Napi::CallbackInfo &info);

 private:
  /** [sync] generate(params, images[], onEvent) -> request id. Inputs are copied; work is queued. */
  Napi::Value Generate(const Napi::CallbackInfo &info);
  /** [sync] abort(id) -> boolean. Sets the request's atomic flag. */
  Napi::Value Abort(const Napi::CallbackInfo &info);
  /** [sync] info() -> { contextSize, parallel, batchSize, memory } */
  Napi::Value Info(const Napi::CallbackInfo &info);
  /** [async] dispose() -> Promise<void>; idempotent; pending requests end with ERR_DISPOSED. */
  Napi::Value Dispose(const Napi::CallbackInfo &info);

  std::shared_ptr<Scheduler> scheduler_;
  uint64_t next_id_ = 1;
  int64_t external_bytes_ = 0;  // KV cache + compute buffers, reported to V8
};

/** [blocking] Stops every engine of `env` (exit paths that skip finalizers, worker exit). */
void StopEngines(napi_env env);

}  // namespace smolvlm
