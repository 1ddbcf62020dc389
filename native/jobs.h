// Work off the JS thread, settled as a promise on it. Long jobs (model load, context creation,
// dispose, memory estimates) run on threads of their own, never on libuv's pool (shared with fs
// and sharp); short ones (tokenize, detokenize, countTokens) run on libuv's pool. Either way
// `work` runs without Napi and reports failure by throwing smolvlm::Error (or any std::exception,
// as ERR_INTERNAL; std::bad_alloc as ERR_OUT_OF_MEMORY); `finish` builds the result on the JS thread.
// Long jobs belong to the environment (main thread or worker) that started them: when it shuts
// down, its jobs are cancelled and joined, so code is never unloaded under a live thread, and
// other environments carry on.
#pragma once
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>

namespace smolvlm {

using CancelFlag = std::shared_ptr<std::atomic<bool>>;
using JobWork = std::function<void()>;
using JobResult = std::function<Napi::Value(Napi::Env)>;

/**
 * [async] Runs `work` on a new thread; resolves with `finish(env)` on the JS thread, or rejects
 * with what `work` threw. `cancel`, if given, is set when the environment shuts down (work should
 * watch it).
 */
Napi::Promise RunOffThread(Napi::Env env, const char *name, JobWork work, JobResult finish, CancelFlag cancel = nullptr);

/** [async] The same on libuv's thread pool, for work of at most a few milliseconds. */
Napi::Promise RunOnPool(Napi::Env env, const char *name, JobWork work, JobResult finish);

/** [blocking] Cancels and joins every long job of `env`. */
void JoinJobs(napi_env env);

}  // namespace smolvlm
