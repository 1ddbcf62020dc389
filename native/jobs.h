// Long jobs (model load, context creation, dispose) run on threads of their own, never on the
// JS thread and never on libuv's pool (shared with fs and sharp). A job settles its promise on
// the JS thread through a thread-safe function. The env-cleanup hook joins any job still
// running, so a process that exits mid-load does not tear down under a live thread.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "errors.h"

namespace smolvlm {

/** Per-addon-instance registry of running jobs (joined at env cleanup). */
class JobRegistry {
 public:
  void Add(std::thread::id id, std::shared_ptr<std::thread> t);
  void Remove(std::thread::id id);
  void JoinAll();
  bool ShuttingDown() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_ = MakeImpl();
  static std::shared_ptr<Impl> MakeImpl();
};

JobRegistry &Jobs();

/**
 * [async] Runs `work` on a new thread; resolves with `finish(env)` on the JS thread, or rejects
 * with the smolvlm::Error (or std::exception, as ERR_INTERNAL) that `work` threw.
 */
Napi::Promise RunOffThread(Napi::Env env, const char *name, std::function<void()> work,
                           std::function<Napi::Value(Napi::Env)> finish);

}  // namespace smolvlm
