#include "jobs.h"

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace smolvlm {

struct JobRegistry::Impl {
  std::mutex mu;
  std::unordered_map<std::thread::id, std::shared_ptr<std::thread>> threads;
  std::atomic<bool> shutting_down{false};
};

std::shared_ptr<JobRegistry::Impl> JobRegistry::MakeImpl() { return std::make_shared<Impl>(); }

void JobRegistry::Add(std::thread::id id, std::shared_ptr<std::thread> t) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->threads[id] = std::move(t);
}

void JobRegistry::Remove(std::thread::id id) {
  std::shared_ptr<std::thread> t;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto it = impl_->threads.find(id);
    if (it == impl_->threads.end()) return;
    t = std::move(it->second);
    impl_->threads.erase(it);
  }
  if (t->joinable()) t->join();
}

void JobRegistry::JoinAll() {
  impl_->shutting_down = true;
  std::unordered_map<std::thread::id, std::shared_ptr<std::thread>> threads;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    threads.swap(impl_->threads);
  }
  for (auto &[id, t] : threads)
    if (t->joinable()) t->join();
}

bool JobRegistry::ShuttingDown() const { return impl_->shutting_down.load(); }

JobRegistry &Jobs() {
  static JobRegistry registry;
  return registry;
}

namespace {

struct Job {
  Napi::Promise::Deferred deferred;
  std::function<void()> work;
  std::function<Napi::Value(Napi::Env)> finish;
  std::optional<Error> error;
  std::thread::id thread_id;
};

void Settle(Napi::Env env, Napi::Function, void *, Job *job) {
  std::unique_ptr<Job> owned(job);
  Jobs().Remove(job->thread_id);  // the thread has finished its work; join it
  if (env == nullptr) return;     // environment is shutting down
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

Napi::Promise RunOffThread(Napi::Env env, const char *name, std::function<void()> work,
                           std::function<Napi::Value(Napi::Env)> finish) {
  auto job = std::make_unique<Job>(Job{Napi::Promise::Deferred::New(env), std::move(work), std::move(finish), {}, {}});
  Napi::Promise promise = job->deferred.Promise();
  JobTsfn tsfn = JobTsfn::New(env, name, 0, 1);
  Job *raw = job.release();
  auto thread = std::make_shared<std::thread>();
  // Register before start so Settle (which joins) always finds it.
  *thread = std::thread([raw, tsfn]() mutable {
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
  Jobs().Add(raw->thread_id, thread);
  return promise;
}

}  // namespace smolvlm
