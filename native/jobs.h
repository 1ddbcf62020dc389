// Long jobs (model load, context creation, dispose) run on threads of their own, never on the
// JS thread and never on libuv's pool (shared with fs and sharp). A job settles its promise on
// the JS thread through a thread-safe function. Jobs belong to the environment (main thread or
// worker) that started them: when it shuts down, its jobs are cancelled and joined, so code is
// never unloaded under a live thread, and other environments carry on.
#pragma once
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>

#include "errors.h"

namespace smolvlm {

using CancelFlag = std::shared_ptr<std::atomic<bool>>;

/**
 * [async] Runs `work` on a new thread; resolves with `finish(env)` on the JS thread, or rejects
 * with the smolvlm::Error (or std::exception, as ERR_INTERNAL) that `work` threw. `cancel`, if
 * given, is set when the environment shuts down (work should watch it).
 */
Napi::Promise RunOffThread(Napi::Env env, const char *name, std::function<void()> work,
                           std::function<Napi::Value(Napi::Env)> finish, CancelFlag cancel = nullptr);

/** [blocking] Cancels and joins every job of `env`. */
void JoinJobs(napi_env env);

}  // namespace smolvlm
