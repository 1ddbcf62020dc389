// The scheduler of one engine: a thread that owns one llama_context and serves a queue of requests
// in `parallel` sequence slots. Each step decodes one token for every generating slot together
// with prompt tokens of prefilling slots (continuous batching); image chunks are encoded between
// steps. Requests with different LoRA adapter sets are never batched together: the slots hold one
// set at a time, and the queue is served in order, a request of another set waiting until the
// slots drain (see Admit). No Napi here, nor in anything this includes: the engine thread never touches JS values,
// and reports through RequestEvents (events.h).
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "memory.h"
#include "model.h"
#include "options.h"
#include "request.h"
#include "slot_cache.h"

namespace smolvlm {

class Scheduler {
 public:
  /**
   * [blocking] Creates the context. `owner` tags the JS environment that made it (StopAll).
   * Throws Error ERR_OUT_OF_MEMORY (no context), ERR_INVALID_ARGUMENT (parallel > batch size).
   */
  Scheduler(std::shared_ptr<ModelHandle> model, EngineOptions opt, const void *owner);
  ~Scheduler();  // [blocking] stops and joins
  /** [sync] Starts the engine thread. */
  void Start();
  /** [sync] Queues `req`; a stopped scheduler finishes it at once with ERR_DISPOSED. */
  void Submit(std::shared_ptr<Request> req);
  /** [sync] Flags request `id` aborted; false when it is not live. */
  bool Abort(uint64_t id);
  /** [blocking] Aborts everything with ERR_DISPOSED, joins the thread, frees the context. Idempotent. */
  void Stop();
  // [sync] what the constructor set (n_batch as llama.cpp settled it)
  const EngineOptions &options() const { return opt_; }
  uint32_t n_ctx() const { return n_ctx_; }
  const std::shared_ptr<ModelHandle> &model() const { return model_; }
  /** Buffers the context allocated (weights, KV cache, compute) per device, read at creation. */
  const memory::Report &memory() const { return memory_; }
  /** [blocking] Stops every scheduler of `owner` (exit paths that skip finalizers, worker exit). */
  static void StopAll(const void *owner);

 private:
  void AttachThreadpool(int n_threads);
  /** [engine thread] Lets the pool's threads sleep now instead of spinning for work. */
  void PauseThreadpool();
  void Run();
  void Iterate();  // one round: admit, reap aborted, step
  bool Admit(std::shared_ptr<Request> &req);
  void Prepare(Request &req);
  void Step();
  void EncodeMedia(Request &req);  // on failure the request is finished with its error
  void Sample(Request &req, int32_t batch_index);
  void Finish(Request &req, const std::string &reason, const char *err_code = nullptr, const std::string &err_msg = "");
  void Forget(uint64_t id);  // drops a finished request from `live_`
  /** The free slot for `req`: the longest common prefix with its cache (promptCache), else an empty one, else the least recently used. */
  size_t ChooseSlot(const Request &req, SlotCache::Match &match) const;
  void DropCache(size_t slot);  // an idle slot's KV cache, removed to make room
  std::vector<std::shared_ptr<Request>> Active() const;

  std::shared_ptr<ModelHandle> model_;
  EngineOptions opt_;
  const void *owner_;
  llama_context *ctx_ = nullptr;
  uint32_t n_ctx_ = 0;
  uint32_t n_seq_ctx_ = 0;  // cells one sequence may hold
  memory::Report memory_;
  llama_batch batch_{};
  // A persistent ggml thread pool, as llama.cpp's own tools attach: without one, ggml creates
  // and joins its worker threads for every graph, i.e. for every generated token.
  ggml_threadpool *threadpool_ = nullptr;
  void (*threadpool_free_)(ggml_threadpool *) = nullptr;
  void (*threadpool_pause_)(ggml_threadpool *) = nullptr;
  std::thread thread_;

  std::mutex mu_;
  std::mutex stop_mu_;  // Stop() may race between dispose, finalizer and exit
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Request>> queue_;
  std::unordered_map<uint64_t, std::shared_ptr<Request>> live_;
  bool stopping_ = false;
  std::atomic<bool> stop_flag_{false};

  // engine thread only
  std::vector<std::shared_ptr<Request>> slots_;  // index = sequence id
  std::shared_ptr<Request> waiting_;             // prepared head of the queue that does not fit yet
  int32_t reserved_ = 0;                         // KV cells promised to requests or held by idle slots' caches
  std::vector<SlotCache> kv_;                    // what each slot's KV cache holds between requests (promptCache)
  uint64_t use_clock_ = 0;
  const Request *sole_ = nullptr;                // the only request in the batch being decoded
  LoraSet lora_;                                 // the context's adapters: every active slot's set
};

}  // namespace smolvlm
