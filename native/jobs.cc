#include "jobs.h"

#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace smolvlm {
namespace {

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
  std::function<void()> work;
  std::function<Napi::Value(Napi::Env)> finish;
  std::optional<Error> error;
  std::thread::id thread_id;
};

void Settle(Napi::Env env, Napi::Function, void *, Job *job) {
  std::unique_ptr<Job> owned(job);
  Forget(job->thread_id);
  if (env == nullptr) return;  // environment is shutting down
  Napi::HandleScope scope(env);
  if (job->error) {
    job->deferred.Reject(ToJsError(env, *job->error).Value());
    return;
  }
  try {
    job->deferred.Resolve(job->finish(env));
  } catch (const Napi::Error &e) {
    job->deferred.Reject(e.Value());
  } catch (const Error &e) {
    job->deferred.Reject(ToJsError(env, e).Value());
  } catch (const std::exception &e) {
    job->deferred.Reject(ToJsError(env, code::INTERNAL, e.what()).Value());
  }
}

using JobTsfn = Napi::TypedThreadSafeFunction<void, Job, Settle>;

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

Napi::Promise RunOffThread(Napi::Env env, const char *name, std::function<void()> work,
                           std::function<Napi::Value(Napi::Env)> finish, CancelFlag cancel) {
  auto job = std::make_unique<Job>(Job{Napi::Promise::Deferred::New(env), std::move(work), std::move(finish), {}, {}});
  Napi::Promise promise = job->deferred.Promise();
  JobTsfn tsfn = JobTsfn::New(env, name, 0, 1);
  Job *raw = job.release();
  std::lock_guard<std::mutex> lock(g_mu);  // registered before the thread can finish
  auto thread = std::make_shared<std::thread>([raw, tsfn]() mutable {
    try {
      raw->work();
    } catch (const Error &e) {
      raw->error = e;
    } catch (const std::bad_alloc &) {
      raw->error = Error(code::OUT_OF_MEMORY, "out of memory");
    } catch (const std::exception &e) {
      raw->error = Error(code::INTERNAL, e.what());
    }
    if (tsfn.BlockingCall(raw) != napi_ok) delete raw;  // env gone: nobody to settle
    tsfn.Release();
  });
  raw->thread_id = thread->get_id();
  g_jobs[raw->thread_id] = Running{env, thread, std::move(cancel)};
  return promise;
}

}  // namespace smolvlm
