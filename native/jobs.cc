#include "jobs.h"

#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "errors.h"
#include "js.h"

namespace smolvlm {
namespace {

/** Runs `work`, turning whatever it throws into an Error. */
std::optional<Error> Capture(const JobWork &work) {
  try {
    work();
  } catch (const Error &e) {
    return e;
  } catch (const std::bad_alloc &) {
    return Error(code::OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception &e) {
    return Error(code::INTERNAL, e.what());
  }
  return std::nullopt;
}

/** [JS thread] Rejects with `error`, or resolves with `finish(env)` (which may throw too). */
void Settle(Napi::Env env, Napi::Promise::Deferred &deferred, const std::optional<Error> &error, const JobResult &finish) {
  Napi::HandleScope scope(env);
  if (error) {
    deferred.Reject(js::ToError(env, *error).Value());
    return;
  }
  try {
    deferred.Resolve(finish(env));
  } catch (const Napi::Error &e) {
    deferred.Reject(e.Value());
  } catch (const Error &e) {
    deferred.Reject(js::ToError(env, e).Value());
  } catch (const std::exception &e) {
    deferred.Reject(js::ToError(env, code::INTERNAL, e.what()).Value());
  }
}

// ---- long jobs: a thread each ----

struct Running {
  napi_env env;
  std::shared_ptr<std::thread> thread;
  CancelFlag cancel;
};

std::mutex g_mu;
std::unordered_map<std::thread::id, Running> g_jobs;

/** Joins the job's thread (it has finished its work) and forgets it. */
void Forget(std::thread::id id) {
  std::shared_ptr<std::thread> t;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_jobs.find(id);
    if (it == g_jobs.end()) return;
    t = std::move(it->second.thread);
    g_jobs.erase(it);
  }
  if (t->joinable()) t->join();
}

struct Job {
  Napi::Promise::Deferred deferred;
  JobWork work;
  JobResult finish;
  std::optional<Error> error;
  std::thread::id thread_id;
};

void SettleJob(Napi::Env env, Napi::Function, void *, Job *job) {
  std::unique_ptr<Job> owned(job);
  Forget(job->thread_id);
  if (env == nullptr) return;  // environment is shutting down
  Settle(env, job->deferred, job->error, job->finish);
}

using JobTsfn = Napi::TypedThreadSafeFunction<void, Job, SettleJob>;

// ---- short jobs: libuv's pool ----

class PoolJob : public Napi::AsyncWorker {
 public:
  PoolJob(Napi::Env env, const char *name, JobWork work, JobResult finish)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)), finish_(std::move(finish)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { error_ = Capture(work_); }
  void OnOK() override { Settle(Env(), deferred_, error_, finish_); }

 private:
  Napi::Promise::Deferred deferred_;
  JobWork work_;
  JobResult finish_;
  std::optional<Error> error_;
};

}  // namespace

void JoinJobs(napi_env env) {
  std::vector<std::shared_ptr<std::thread>> threads;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    for (auto it = g_jobs.begin(); it != g_jobs.end();) {
      if (it->second.env != env) {
        ++it;
        continue;
      }
      if (it->second.cancel) it->second.cancel->store(true);
      threads.push_back(std::move(it->second.thread));
      it = g_jobs.erase(it);
    }
  }
  for (auto &t : threads)
    if (t->joinable()) t->join();
}

Napi::Promise RunOffThread(Napi::Env env, const char *name, JobWork work, JobResult finish, CancelFlag cancel) {
  auto job = std::make_unique<Job>(Job{Napi::Promise::Deferred::New(env), std::move(work), std::move(finish), {}, {}});
  Napi::Promise promise = job->deferred.Promise();
  JobTsfn tsfn = JobTsfn::New(env, name, 0, 1);
  Job *raw = job.release();
  std::lock_guard<std::mutex> lock(g_mu);  // registered before the thread can finish
  auto thread = std::make_shared<std::thread>([raw, tsfn]() mutable {
    raw->error = Capture(raw->work);
    if (tsfn.BlockingCall(raw) != napi_ok) delete raw;  // env gone: nobody to settle
    tsfn.Release();
  });
  raw->thread_id = thread->get_id();
  g_jobs[raw->thread_id] = Running{env, thread, std::move(cancel)};
  return promise;
}

Napi::Promise RunOnPool(Napi::Env env, const char *name, JobWork work, JobResult finish) {
  auto *job = new PoolJob(env, name, std::move(work), std::move(finish));  // deletes itself when done
  Napi::Promise promise = job->Promise();
  job->Queue();
  return promise;
}

}  // namespace smolvlm
