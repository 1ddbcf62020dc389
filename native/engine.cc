#include "engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <unordered_map>

#include "errors.h"
#include "addon_data.h"
#include "jobs.h"
#include "log.h"

namespace smolvlm {

namespace {

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

void BatchAdd(llama_batch &b, llama_token t, llama_pos pos, llama_seq_id seq, bool logits) {
  b.token[b.n_tokens] = t;
  b.pos[b.n_tokens] = pos;
  b.n_seq_id[b.n_tokens] = 1;
  b.seq_id[b.n_tokens][0] = seq;
  b.logits[b.n_tokens] = logits;
  b.n_tokens++;
}

std::string Piece(const llama_vocab *vocab, llama_token t) {
  char buf[256];
  int32_t n = llama_token_to_piece(vocab, t, buf, sizeof buf, 0, true);
  if (n >= 0) return std::string(buf, n);
  std::string big(-n, '\0');
  n = llama_token_to_piece(vocab, t, big.data(), static_cast<int32_t>(big.size()), 0, true);
  big.resize(n > 0 ? n : 0);
  return big;
}

float LogProb(const float *logits, int32_t n_vocab, llama_token t) {
  float max = -INFINITY;
  for (int32_t i = 0; i < n_vocab; i++) max = std::max(max, logits[i]);
  double sum = 0;
  for (int32_t i = 0; i < n_vocab; i++) sum += std::exp(static_cast<double>(logits[i] - max));
  return static_cast<float>(logits[t] - max - std::log(sum));
}

// Every live engine, so that exit paths that skip finalizers can still stop their threads
// before static destructors unload the code they run.
std::mutex g_engines_mu;
std::set<EngineCore *> g_engines;

bool AbortDecode(void *ud) {
  auto *flags = static_cast<std::pair<const std::atomic<bool> *, const Request *const *> *>(ud);
  if (flags->first->load()) return true;
  const Request *sole = *flags->second;
  return sole != nullptr && sole->aborted.load();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// EngineCore

llama_context_params ContextParams(const EngineOptions &opt) {
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = opt.n_ctx;
  cp.n_batch = opt.n_batch;
  cp.n_ubatch = std::min(opt.n_ubatch, opt.n_batch);
  cp.n_seq_max = opt.n_parallel;
  cp.kv_unified = true;  // one pool of cells: a single request may use the whole context
  if (opt.n_threads > 0) cp.n_threads = opt.n_threads;
  if (opt.n_threads_batch > 0) cp.n_threads_batch = opt.n_threads_batch;
  else if (opt.n_threads > 0) cp.n_threads_batch = opt.n_threads;
  cp.flash_attn_type = static_cast<llama_flash_attn_type>(opt.flash_attn);
  cp.type_k = static_cast<ggml_type>(opt.type_k);
  cp.type_v = static_cast<ggml_type>(opt.type_v);
  cp.no_perf = true;
  return cp;
}

EngineOptions ReadEngineOptions(const Napi::Object &o) {
  EngineOptions opt;
  auto u32 = [&](const char *k, uint32_t def) { return o.Has(k) && o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().Uint32Value() : def; };
  auto i32 = [&](const char *k, int32_t def) { return o.Has(k) && o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().Int32Value() : def; };
  opt.n_ctx = u32("contextSize", opt.n_ctx);
  opt.n_batch = u32("batchSize", opt.n_batch);
  opt.n_ubatch = u32("ubatchSize", opt.n_ubatch);
  opt.n_parallel = std::max<uint32_t>(1, u32("parallel", 1));
  opt.n_threads = i32("threads", 0);
  opt.n_threads_batch = i32("threadsBatch", 0);
  opt.flash_attn = i32("flashAttn", LLAMA_FLASH_ATTN_TYPE_AUTO);
  opt.type_k = i32("typeK", GGML_TYPE_F16);
  opt.type_v = i32("typeV", GGML_TYPE_F16);
  return opt;
}

EngineCore::EngineCore(std::shared_ptr<ModelHandle> model, EngineOptions opt, napi_env owner)
    : model_(std::move(model)), opt_(opt), owner_(owner) {
  const llama_context_params cp = ContextParams(opt_);
  log::ClearLastError();
  ctx_ = llama_init_from_model(model_->model, cp);
  if (!ctx_) {
    std::string why = log::LastError();
    throw Error(code::OUT_OF_MEMORY, "failed to create a context of " + std::to_string(opt_.n_ctx) + " tokens" +
                                         (why.empty() ? "" : ": " + why));
  }
  if (llama_n_batch(ctx_) < opt_.n_parallel) {
    llama_free(ctx_);
    throw Error(code::INVALID_ARGUMENT, "parallel (" + std::to_string(opt_.n_parallel) + ") must not exceed the batch size (" +
                                            std::to_string(llama_n_batch(ctx_)) + "): each step decodes one token per sequence");
  }
  AttachThreadpool(cp.n_threads);
  n_ctx_ = llama_n_ctx(ctx_);
  opt_.n_batch = llama_n_batch(ctx_);
  memory_ = memory::Breakdown(ctx_, model_->model);
  batch_ = llama_batch_init(static_cast<int32_t>(opt_.n_batch), 0, 1);
  slots_.resize(opt_.n_parallel);
  std::lock_guard<std::mutex> lock(g_engines_mu);
  g_engines.insert(this);
}

void EngineCore::AttachThreadpool(int n_threads) {
  ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
  if (!cpu) return;
  ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(cpu);
  using NewFn = ggml_threadpool *(*)(ggml_threadpool_params *);
  auto new_fn = reinterpret_cast<NewFn>(ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_new"));
  threadpool_free_ = reinterpret_cast<void (*)(ggml_threadpool *)>(ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_free"));
  if (!new_fn || !threadpool_free_) return;
  ggml_threadpool_params tpp = ggml_threadpool_params_default(n_threads);
  threadpool_ = new_fn(&tpp);
  if (threadpool_) llama_attach_threadpool(ctx_, threadpool_, nullptr);
}

EngineCore::~EngineCore() {
  Stop();
  std::lock_guard<std::mutex> lock(g_engines_mu);
  g_engines.erase(this);
}

void EngineCore::StopAll(napi_env env) {
  std::lock_guard<std::mutex> lock(g_engines_mu);
  for (EngineCore *e : g_engines)
    if (e->owner_ == env) e->Stop();
}

void EngineCore::Start() {
  thread_ = std::thread([this] { Run(); });
}

void EngineCore::Submit(std::shared_ptr<Request> req) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      req->emitter->Finish({"abort", code::DISPOSED, "engine is disposed"});
      return;
    }
    live_[req->id] = req;
    queue_.push_back(std::move(req));
  }
  cv_.notify_one();
}

bool EngineCore::Abort(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(id);
  if (it == live_.end()) return false;
  it->second->aborted = true;
  cv_.notify_one();
  return true;
}

void EngineCore::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    stop_flag_ = true;
    // also cuts short an image encode in progress (the projector watches the request's flag)
    for (auto &[id, r] : live_) r->aborted = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (ctx_) {
    llama_batch_free(batch_);
    llama_free(ctx_);
    ctx_ = nullptr;
  }
  if (threadpool_) {
    threadpool_free_(threadpool_);
    threadpool_ = nullptr;
  }
}

std::vector<std::shared_ptr<Request>> EngineCore::Active() const {
  std::vector<std::shared_ptr<Request>> out;
  for (const auto &s : slots_)
    if (s) out.push_back(s);
  return out;
}

void EngineCore::Run() {
  std::pair<const std::atomic<bool> *, const Request *const *> abort_flags{&stop_flag_, &sole_};
  llama_set_abort_callback(ctx_, AbortDecode, &abort_flags);
  for (;;) {
    std::vector<std::shared_ptr<Request>> dropped;  // aborted while queued
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || waiting_ || !Active().empty(); });
      if (stopping_) break;
      for (auto it = queue_.begin(); it != queue_.end();) {
        if ((*it)->aborted) {
          dropped.push_back(std::move(*it));
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto &r : dropped) {
      r->emitter->Finish({"abort", code::ABORTED, "generation aborted before it started"});
      std::lock_guard<std::mutex> lock(mu_);
      live_.erase(r->id);
    }
    try {
      Iterate();
    } catch (const std::exception &e) {
      // Never let an exception end the process from this thread: fail what was in flight.
      const bool oom = dynamic_cast<const std::bad_alloc *>(&e) != nullptr;
      for (auto &s : Active()) Finish(*s, "abort", oom ? code::OUT_OF_MEMORY : code::INTERNAL, e.what());
    }
  }
  // Disposal: everything still pending ends with ERR_DISPOSED.
  std::deque<std::shared_ptr<Request>> rest;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rest.swap(queue_);
  }
  if (waiting_) rest.push_front(waiting_);
  waiting_.reset();
  for (auto &s : Active()) Finish(*s, "abort", code::DISPOSED, "engine disposed during generation");
  for (auto &r : rest) {
    r->emitter->Finish({"abort", code::DISPOSED, "engine disposed before the request started"});
  }
  std::lock_guard<std::mutex> lock(mu_);
  live_.clear();
  llama_set_abort_callback(ctx_, nullptr, nullptr);
}

void EngineCore::Iterate() {
  // Admit as many queued requests as slots and KV reservations allow.
  for (;;) {
    std::shared_ptr<Request> next = waiting_;
    if (!next) {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty()) break;
      next = queue_.front();
      queue_.pop_front();
    }
    if (!Admit(next)) break;
  }
  for (auto &s : Active()) {
    if (s->aborted) Finish(*s, "abort", code::ABORTED, "generation aborted");
  }
  if (!Active().empty()) Step();
}

// Tokenizes and reserves KV cells. Returns false when the request must wait for room.
bool EngineCore::Admit(std::shared_ptr<Request> &req) {
  if (req->aborted) {
    if (waiting_ == req) waiting_.reset();
    Emitter::Final f{"abort", code::ABORTED, "generation aborted before it started"};
    req->emitter->Finish(f);
    std::lock_guard<std::mutex> lock(mu_);
    live_.erase(req->id);
    return true;
  }
  auto free_slot = std::find(slots_.begin(), slots_.end(), nullptr);
  if (free_slot == slots_.end()) {
    waiting_ = req;
    return false;
  }
  if (!req->prepared) {
    req->t_start = Clock::now();
    req->prepared = true;
    try {
      Prepare(*req);
    } catch (const Error &e) {
      if (waiting_ == req) waiting_.reset();
      req->emitter->Finish({"abort", e.code, e.what()});
      std::lock_guard<std::mutex> lock(mu_);
      live_.erase(req->id);
      return true;
    }
  }
  const int32_t n_ctx = static_cast<int32_t>(n_ctx_);
  const int32_t want = req->params.max_tokens < 0 ? n_ctx : std::min(n_ctx, req->n_prompt + req->params.max_tokens);
  if (reserved_ + want > n_ctx && !Active().empty()) {
    waiting_ = req;
    return false;
  }
  waiting_.reset();
  req->reservation = want;
  reserved_ += want;
  req->sampler = MakeSampler(model_->vocab(), req->params.sampling);
  *free_slot = req;
  return true;
}

void EngineCore::Prepare(Request &req) {
  const RequestParams &p = req.params;
  req.prompt = TokenizePrompt(*model_, p.prompt, p.add_special, p.parse_special, req.images);
  req.images.clear();  // the chunks hold the preprocessed pixels now
  req.n_prompt = req.prompt.n_tokens;
  req.n_image_tokens = req.prompt.n_image_tokens;
  if (req.n_prompt == 0) throw Error(code::INVALID_ARGUMENT, "the prompt is empty");
  if (req.prompt.segments.back().media) throw Error(code::INVALID_ARGUMENT, "the prompt must not end with an image: add text after it");
  if (req.n_prompt >= static_cast<int32_t>(n_ctx_)) {
    throw Error(code::CONTEXT_FULL, "the prompt is " + std::to_string(req.n_prompt) + " tokens, the context holds " +
                                        std::to_string(n_ctx_) + ": shorten it or raise contextSize");
  }
}

void EngineCore::Step() {
  llama_batch &b = batch_;
  b.n_tokens = 0;
  const int32_t cap = static_cast<int32_t>(opt_.n_batch);
  struct Entry { Request *req; int32_t index; };
  std::vector<Entry> outputs;
  std::vector<std::pair<Request *, int32_t>> advanced;  // prompt tokens added per request
  Request *media = nullptr;

  // One decode token for each generating slot.
  for (size_t s = 0; s < slots_.size(); s++) {
    Request *r = slots_[s].get();
    if (!r || !r->generating) continue;
    outputs.push_back({r, b.n_tokens});
    BatchAdd(b, r->last_token, r->n_past, static_cast<llama_seq_id>(s), true);
  }
  // Prompt tokens of prefilling slots, as far as the batch has room.
  for (size_t s = 0; s < slots_.size() && b.n_tokens < cap; s++) {
    Request *r = slots_[s].get();
    if (!r || r->generating) continue;
    const Prompt::Segment &seg = r->prompt.segments[r->segment];
    if (seg.media) {
      if (!media) media = r;
      continue;
    }
    const bool last_segment = r->segment + 1 == r->prompt.segments.size();
    int32_t added = 0;
    while (r->offset + added < seg.tokens.size() && b.n_tokens < cap) {
      const bool is_last = last_segment && r->offset + added + 1 == seg.tokens.size();
      if (is_last) outputs.push_back({r, b.n_tokens});
      BatchAdd(b, seg.tokens[r->offset + added], r->n_past + added, static_cast<llama_seq_id>(s), is_last);
      added++;
    }
    advanced.push_back({r, added});
  }

  if (b.n_tokens > 0) {
    // Only a batch that serves a single request may be cut short by that request's abort.
    Request *first = outputs.empty() ? (advanced.empty() ? nullptr : advanced[0].first) : outputs[0].req;
    bool single = true;
    for (auto &o : outputs) single &= o.req == first;
    for (auto &a : advanced) single &= a.first == first;
    sole_ = single ? first : nullptr;
    // A batch with prompt tokens can take a while: deliver what the generating slots hold.
    if (!advanced.empty())
      for (auto &o : outputs)
        if (o.req->generating) o.req->emitter->Flush();
    int32_t rc = llama_decode(ctx_, b);
    sole_ = nullptr;
    if (rc != 0) {
      const bool aborted = rc == 2 && !stop_flag_;
      for (auto &s : Active()) {
        bool involved = false;
        for (auto &o : outputs) involved |= o.req == s.get();
        for (auto &a : advanced) involved |= a.first == s.get();
        if (!involved) continue;
        if (aborted && s->aborted) Finish(*s, "abort", code::ABORTED, "generation aborted");
        else if (!stop_flag_) Finish(*s, "abort", code::INTERNAL, "llama_decode failed with code " + std::to_string(rc));
      }
      return;
    }
    for (auto &[r, n] : advanced) {
      r->n_past += n;
      r->offset += n;
      if (r->offset == r->prompt.segments[r->segment].tokens.size()) {
        r->segment++;
        r->offset = 0;
      }
    }
    for (auto &o : outputs) {
      if (!o.req->generating) {
        o.req->generating = true;
      } else {
        o.req->n_past += 1;
      }
      Sample(*o.req, o.index);
    }
  }

  // At most one image (run of consecutive image chunks) per step, so generating slots keep going.
  // An encode takes seconds: deliver what the others have generated first.
  if (media) {
    for (auto &s : slots_)
      if (s) s->emitter->Flush();
    EncodeMedia(*media);
  }
}

// Encodes the run of image chunks at the request's current segment and decodes their embeddings
// into its sequence, exactly as llama-mtmd-cli does (mtmd_batch, then
// mtmd_helper_decode_image_chunk). Tiles found in the model's image cache skip the encoder.
void EngineCore::EncodeMedia(Request &req) {
  const llama_seq_id seq = static_cast<llama_seq_id>(std::find_if(slots_.begin(), slots_.end(), [&](auto &s) { return s.get() == &req; }) - slots_.begin());
  ImageCache &cache = model_->image_cache;
  std::vector<ImageCache::Embedding> cached;
  mtmd::batch_ptr mbatch;
  size_t end = req.segment, n_encode = 0;
  for (; end < req.prompt.segments.size() && req.prompt.segments[end].media; end++) {
    const Prompt::Segment &seg = req.prompt.segments[end];
    cached.push_back(cache.Get(seg.cache_key));
    if (cached.back()) continue;
    if (!mbatch) mbatch.reset(mtmd_batch_init(model_->mtmd));
    int32_t rc = mtmd_batch_add_chunk(mbatch.get(), seg.media);
    if (rc != 0 && n_encode > 0) {  // batch full or incompatible: the rest goes next step
      cached.pop_back();
      break;
    }
    if (rc != 0) {
      Finish(req, "abort", code::INTERNAL, "cannot encode image chunk (mtmd_batch_add_chunk: " + std::to_string(rc) + ")");
      return;
    }
    n_encode++;
  }
  if (n_encode > 0) {
    int32_t rc;
    {
      std::lock_guard<std::mutex> lock(model_->encode_mu);
      model_->encode_abort = &req.aborted;
      auto t0 = Clock::now();
      log::ClearLastError();
      rc = mtmd_batch_encode(mbatch.get());
      req.encode_ms += Ms(t0, Clock::now());
      model_->encode_abort = nullptr;
    }
    cache.CountEncodes(n_encode);
    if (req.aborted || stop_flag_) {
      if (!stop_flag_) Finish(req, "abort", code::ABORTED, "generation aborted during image encoding");
      return;
    }
    if (rc != 0) {
      Finish(req, "abort", code::IMAGE_INVALID, "image encoding failed: " + log::LastError());
      return;
    }
  }
  const size_t n_embd = static_cast<size_t>(llama_model_n_embd_inp(model_->model));
  for (size_t i = 0; req.segment < end; req.segment++, i++) {
    const Prompt::Segment &seg = req.prompt.segments[req.segment];
    const float *embd = cached[i] ? cached[i]->data() : mtmd_batch_get_output_embd(mbatch.get(), seg.media);
    if (!cached[i]) {
      const size_t n = n_embd * mtmd_input_chunk_get_n_tokens(seg.media);
      cache.Put(seg.cache_key, std::vector<float>(embd, embd + n));
    }
    llama_pos new_n_past = req.n_past;
    sole_ = &req;
    // the helper only reads the embeddings
    int32_t rc = mtmd_helper_decode_image_chunk(model_->mtmd, ctx_, seg.media, const_cast<float *>(embd), req.n_past, seq,
                                                static_cast<int32_t>(opt_.n_batch), &new_n_past, nullptr, nullptr);
    sole_ = nullptr;
    if (req.aborted || stop_flag_) {
      if (!stop_flag_) Finish(req, "abort", code::ABORTED, "generation aborted during image prefill");
      return;
    }
    if (rc != 0) {
      Finish(req, "abort", code::INTERNAL, "decoding image embeddings failed (" + std::to_string(rc) + ")");
      return;
    }
    req.n_past = new_n_past;
  }
  req.offset = 0;
}

void EngineCore::Sample(Request &req, int32_t index) {
  const llama_vocab *vocab = model_->vocab();
  const llama_token t = llama_sampler_sample(req.sampler, ctx_, index);
  if (req.n_generated == 0) req.t_first = Clock::now();
  req.n_generated++;
  if (llama_vocab_is_eog(vocab, t)) {
    req.n_generated--;  // the end-of-generation token is not part of the answer
    Finish(req, "stop");
    return;
  }
  std::optional<float> logprob;
  if (req.params.want_logprobs) logprob = LogProb(llama_get_logits_ith(ctx_, index), llama_vocab_n_tokens(vocab), t);
  bool stopped = false;
  std::string delta = req.stream.Push(Piece(vocab, t), stopped);
  req.emitter->Delta(delta, req.params.want_tokens ? std::optional<llama_token>(t) : std::nullopt, logprob);
  if (stopped) {
    Finish(req, "stop");
  } else if (req.params.max_tokens >= 0 && req.n_generated >= req.params.max_tokens) {
    Finish(req, "length");
  } else if (req.n_prompt + req.n_generated > req.reservation) {  // no KV cell left to decode it
    Finish(req, "length");
  } else {
    req.last_token = t;
  }
}

void EngineCore::Finish(Request &req, const std::string &reason, const char *err_code, const std::string &err_msg) {
  std::string rest = req.stream.Flush();
  if (!rest.empty()) req.emitter->Delta(rest, std::nullopt, std::nullopt);
  const auto now = Clock::now();
  Emitter::Final f;
  f.finish_reason = reason;
  if (err_code) {
    f.error_code = err_code;
    f.error_message = err_msg;
  }
  f.prompt_tokens = req.n_prompt;
  f.image_tokens = req.n_image_tokens;
  f.completion_tokens = req.n_generated;
  f.image_encode_ms = req.encode_ms;
  f.total_ms = Ms(req.t_submit, now);
  if (req.n_generated > 0 || req.generating) {
    const auto first = req.n_generated > 0 ? req.t_first : now;
    f.ttft_ms = Ms(req.t_submit, first);
    f.prompt_eval_ms = std::max(0.0, Ms(req.t_start, first) - req.encode_ms);
    f.generation_ms = Ms(first, now);
  }
  req.emitter->Finish(f);
  for (auto &s : slots_) {
    if (s.get() == &req) {
      llama_memory_seq_rm(llama_get_memory(ctx_), static_cast<llama_seq_id>(&s - slots_.data()), -1, -1);
      reserved_ -= req.reservation;
      req.reservation = 0;
      std::shared_ptr<Request> keep = std::move(s);
      s.reset();
      std::lock_guard<std::mutex> lock(mu_);
      live_.erase(keep->id);
      return;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  live_.erase(req.id);
}

// ---------------------------------------------------------------------------------------------
// Engine (JS object)

Napi::Function Engine::Init(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "Engine",
                                  {
                                      InstanceMethod<&Engine::Generate>("generate"),
                                      InstanceMethod<&Engine::Abort>("abort"),
                                      InstanceMethod<&Engine::Info>("info"),
                                      InstanceMethod<&Engine::Dispose>("dispose"),
                                  });
  return fn;
}

Engine::Engine(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Engine>(info) {
  if (info.Length() < 1 || !info[0].IsExternal()) ThrowInvalid(info.Env(), "Engine cannot be constructed directly");
  core_ = *info[0].As<Napi::External<std::shared_ptr<EngineCore>>>().Data();
  // V8's heuristics should know how heavy this small JS object is.
  for (const auto &d : core_->memory().devices) external_bytes_ += static_cast<int64_t>(d.context + d.compute);
  Napi::MemoryManagement::AdjustExternalMemory(info.Env(), external_bytes_);
}

Napi::Value Engine::Create(Napi::Env env, std::shared_ptr<ModelHandle> model, Napi::Object o) {
  const EngineOptions opt = ReadEngineOptions(o);
  auto core = std::make_shared<std::shared_ptr<EngineCore>>();
  napi_env owner = env;
  return RunOffThread(
      env, "smolvlm:context",
      [core, model, opt, owner] {
        *core = std::make_shared<EngineCore>(model, opt, owner);
        (*core)->Start();
      },
      [core](Napi::Env env) -> Napi::Value {
        return env.GetInstanceData<AddonData>()->engine_ctor.New({Napi::External<std::shared_ptr<EngineCore>>::New(env, core.get())});
      });
}

Napi::Value Engine::Generate(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!core_) throw ToJsError(env, code::DISPOSED, "engine is disposed");
  if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsArray() || !info[2].IsFunction()) {
    ThrowInvalid(env, "generate(params, images, onEvent) expected");
  }
  Napi::Object p = info[0].As<Napi::Object>();
  auto req = std::make_shared<Request>();
  req->t_submit = Clock::now();
  RequestParams &rp = req->params;
  if (!p.Get("prompt").IsString()) ThrowInvalid(env, "generate: prompt must be a string");
  rp.prompt = p.Get("prompt").As<Napi::String>().Utf8Value();
  auto num = [&](const char *k, double def) { return p.Has(k) && p.Get(k).IsNumber() ? p.Get(k).As<Napi::Number>().DoubleValue() : def; };
  auto flag = [&](const char *k, bool def) { return p.Has(k) && p.Get(k).IsBoolean() ? p.Get(k).As<Napi::Boolean>().Value() : def; };
  rp.add_special = flag("addSpecial", true);
  rp.parse_special = flag("parseSpecial", true);
  rp.max_tokens = static_cast<int32_t>(num("maxTokens", -1));
  rp.sampling.temperature = static_cast<float>(num("temperature", 0));
  rp.sampling.top_k = static_cast<int32_t>(num("topK", 40));
  rp.sampling.top_p = static_cast<float>(num("topP", 0.95));
  rp.sampling.min_p = static_cast<float>(num("minP", 0.05));
  rp.sampling.repeat_penalty = static_cast<float>(num("repeatPenalty", 1.0));
  rp.sampling.repeat_last_n = static_cast<int32_t>(num("repeatLastN", 64));
  rp.sampling.seed = static_cast<uint32_t>(num("seed", LLAMA_DEFAULT_SEED));
  rp.sampling.ignore_eos = flag("ignoreEos", false);
  rp.want_tokens = flag("tokens", false);
  rp.want_logprobs = flag("logprobs", false);
  if (p.Has("stop") && p.Get("stop").IsArray()) {
    Napi::Array stops = p.Get("stop").As<Napi::Array>();
    for (uint32_t i = 0; i < stops.Length(); i++) rp.stop.push_back(stops.Get(i).ToString().Utf8Value());
  }
  req->stream = TextStream(rp.stop);

  Napi::Array images = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < images.Length(); i++) req->images.push_back(ImageFromJs(env, *core_->model(), images.Get(i)));
  req->id = next_id_++;
  req->emitter = std::make_shared<Emitter>(env, info[2].As<Napi::Function>());
  req->emitter->self = req->emitter;
  core_->Submit(req);
  return Napi::Number::New(env, static_cast<double>(req->id));
}

Napi::Value Engine::Abort(const Napi::CallbackInfo &info) {
  if (!core_ || info.Length() < 1 || !info[0].IsNumber()) return Napi::Boolean::New(info.Env(), false);
  return Napi::Boolean::New(info.Env(), core_->Abort(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value())));
}

Napi::Value Engine::Info(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!core_) throw ToJsError(env, code::DISPOSED, "engine is disposed");
  Napi::Object o = Napi::Object::New(env);
  o.Set("contextSize", core_->n_ctx());
  o.Set("parallel", core_->options().n_parallel);
  o.Set("batchSize", core_->options().n_batch);
  o.Set("memory", memory::ToJs(env, core_->memory()));
  return o;
}

Napi::Value Engine::Dispose(const Napi::CallbackInfo &info) {
  if (external_bytes_) Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -external_bytes_);
  external_bytes_ = 0;
  auto core = std::make_shared<std::shared_ptr<EngineCore>>(std::move(core_));
  core_.reset();
  return RunOffThread(
      info.Env(), "smolvlm:dispose",
      [core] {
        if (*core) (*core)->Stop();
        core->reset();
      },
      [](Napi::Env env) { return env.Undefined(); });
}

}  // namespace smolvlm
