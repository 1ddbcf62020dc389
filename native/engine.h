// Engine: one llama_context owned by one thread, serving a queue of requests in `parallel`
// sequence slots. Each step decodes one token for every generating slot together with prompt
// tokens of prefilling slots (continuous batching); image chunks are encoded between steps.
#pragma once
#include <napi.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "memory.h"
#include "model.h"
#include "request.h"

namespace smolvlm {

struct EngineOptions {
  uint32_t n_ctx = 4096;
  uint32_t n_batch = 2048;
  uint32_t n_ubatch = 512;
  uint32_t n_parallel = 1;
  int32_t n_threads = 0;
  int32_t n_threads_batch = 0;
  int flash_attn = LLAMA_FLASH_ATTN_TYPE_AUTO;
  int type_k = GGML_TYPE_F16;
  int type_v = GGML_TYPE_F16;
};

/** The llama_context_params an engine (or a dry run of one) uses. */
llama_context_params ContextParams(const EngineOptions &opt);
/** [JS thread] Engine options from { contextSize, batchSize, ubatchSize, parallel, threads, ... }. */
EngineOptions ReadEngineOptions(const Napi::Object &o);

class EngineCore {
 public:
  EngineCore(std::shared_ptr<ModelHandle> model, EngineOptions opt, napi_env owner);  // [blocking] creates the context
  ~EngineCore();                                                      // stops and joins
  void Start();
  void Submit(std::shared_ptr<Request> req);
  bool Abort(uint64_t id);
  /** [blocking] Aborts everything with ERR_DISPOSED, joins the thread, frees the context. */
  void Stop();
  const EngineOptions &options() const { return opt_; }
  uint32_t n_ctx() const { return n_ctx_; }
  const std::shared_ptr<ModelHandle> &model() const { return model_; }
  /** Buffers the context allocated (weights, KV cache, compute) per device, read at creation. */
  const memory::Report &memory() const { return memory_; }
  /** [blocking] Stops every engine of `env` (exit paths that skip finalizers, worker exit). */
  static void StopAll(napi_env env);

 private:
  void AttachThreadpool(int n_threads);
  void Run();
  void Iterate();  // one round: admit, reap aborted, step
  bool Admit(std::shared_ptr<Request> &req);
  void Prepare(Request &req);
  void Step();
  void EncodeMedia(Request &req);  // on failure the request is finished with its error
  void Sample(Request &req, int32_t batch_index);
  void Finish(Request &req, const std::string &reason, const char *err_code = nullptr, const std::string &err_msg = "");
  std::vector<std::shared_ptr<Request>> Active() const;

  std::shared_ptr<ModelHandle> model_;
  EngineOptions opt_;
  napi_env owner_;
  llama_context *ctx_ = nullptr;
  uint32_t n_ctx_ = 0;
  memory::Report memory_;
  llama_batch batch_{};
  // A persistent ggml thread pool, as llama.cpp's own tools attach: without one, ggml creates
  // and joins its worker threads for every graph, i.e. for every generated token.
  ggml_threadpool *threadpool_ = nullptr;
  void (*threadpool_free_)(ggml_threadpool *) = nullptr;
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
  int32_t reserved_ = 0;
  const Request *sole_ = nullptr;                // the only request in the batch being decoded
};

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static Napi::Function Init(Napi::Env env);
  /** [async] Creates the context off the JS thread; resolves with an Engine. */
  static Napi::Value Create(Napi::Env env, std::shared_ptr<ModelHandle> model, Napi::Object options);
  explicit Engine(const Napi::CallbackInfo &info);

 private:
  /** [sync] generate(params, images[], onEvent) -> request id. Inputs are copied; work is queued. */
  Napi::Value Generate(const Napi::CallbackInfo &info);
  /** [sync] abort(id) -> boolean. Sets the request's atomic flag. */
  Napi::Value Abort(const Napi::CallbackInfo &info);
  /** [sync] info() -> { contextSize, parallel, batchSize, threads } */
  Napi::Value Info(const Napi::CallbackInfo &info);
  /** [async] dispose() -> Promise<void>; idempotent; pending requests end with ERR_DISPOSED. */
  Napi::Value Dispose(const Napi::CallbackInfo &info);

  std::shared_ptr<EngineCore> core_;
  uint64_t next_id_ = 1;
  int64_t external_bytes_ = 0;  // KV cache + compute buffers, reported to V8
};

}  // namespace smolvlm
