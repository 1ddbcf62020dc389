// One file for the engine thread's whole loop (over 400 lines for that reason): admission, the
// batched step, image encodes, sampling and finishing share the slots and KV reservations, and
// read best in the order the thread runs them.
#include "scheduler.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "backends.h"
#if !SMOLVLM_BACKEND_DL
#include "ggml-cpu.h"
#endif
#include "errors.h"
#include "log.h"
#include "lora.h"
#include "mtmd-helper.h"
#include "rpc.h"
#include "tokens.h"

namespace smolvlm {
namespace {

void BatchAdd(llama_batch &b, llama_token t, llama_pos pos, llama_seq_id seq, bool logits) {
  b.token[b.n_tokens] = t;
  b.pos[b.n_tokens] = pos;
  b.n_seq_id[b.n_tokens] = 1;
  b.seq_id[b.n_tokens][0] = seq;
  b.logits[b.n_tokens] = logits;
  b.n_tokens++;
}

// Every live scheduler, so that exit paths that skip finalizers can still stop their threads
// before static destructors unload the code they run.
std::mutex g_schedulers_mu;
std::set<Scheduler *> g_schedulers;

// llama.cpp's abort callback: the scheduler stops, or the batch serves one request, now aborted.
struct AbortFlags {
  const std::atomic<bool> *stop;
  const Request *const *sole;
};

bool AbortDecode(void *ud) {
  auto *flags = static_cast<AbortFlags *>(ud);
  if (flags->stop->load()) return true;
  const Request *sole = *flags->sole;
  return sole != nullptr && sole->aborted.load();
}

}  // namespace

Scheduler::Scheduler(std::shared_ptr<ModelHandle> model, EngineOptions opt, const void *owner)
    : model_(std::move(model)), opt_(opt), owner_(owner) {
  const llama_context_params cp = ContextParams(opt_);
  log::ClearLastError();
  ctx_ = llama_init_from_model(model_->model, cp);
  if (!ctx_) {
    rpc::Check(model_->rpc, "while creating the context");
    std::string why = log::LastError();
    throw Error(code::OUT_OF_MEMORY, "failed to create a context of " + std::to_string(opt_.n_ctx) + " tokens" +
                                         (why.empty() ? "" : ": " + why));
  }
  if (!rpc::FirstFailed(model_->rpc).empty()) {
    llama_free(ctx_);
    rpc::Check(model_->rpc, "while creating the context");
  }
  if (llama_n_batch(ctx_) < opt_.n_parallel) {
    const uint32_t n_batch = llama_n_batch(ctx_);
    llama_free(ctx_);
    throw Error(code::INVALID_ARGUMENT, "parallel (" + std::to_string(opt_.n_parallel) + ") must not exceed the batch size (" +
                                            std::to_string(n_batch) + "): each step decodes one token per sequence");
  }
  AttachThreadpool(cp.n_threads);
  n_ctx_ = llama_n_ctx(ctx_);
  opt_.n_batch = llama_n_batch(ctx_);
  memory_ = memory::Breakdown(ctx_, model_->model);
  for (const LoraAdapter &a : model_->loras) memory_.lora += a.file.bytes;
  batch_ = llama_batch_init(static_cast<int32_t>(opt_.n_batch), 0, 1);
  slots_.resize(opt_.n_parallel);
  kv_.resize(opt_.n_parallel);
  std::lock_guard<std::mutex> lock(g_schedulers_mu);
  g_schedulers.insert(this);
}

void Scheduler::AttachThreadpool(int n_threads) {
  ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
  if (!cpu) return;
  ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(cpu);
  using NewFn = ggml_threadpool *(*)(ggml_threadpool_params *);
  auto new_fn = reinterpret_cast<NewFn>(ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_new"));
  threadpool_free_ = reinterpret_cast<void (*)(ggml_threadpool *)>(ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_free"));
  // not in the registry's get_proc_address list (only new/free/set are): from the module itself
  threadpool_pause_ = reinterpret_cast<void (*)(ggml_threadpool *)>(backends::CpuSymbol("ggml_threadpool_pause"));
#if !SMOLVLM_BACKEND_DL
  threadpool_pause_ = ggml_threadpool_pause;  // a static build links the CPU backend in
#endif
  if (!new_fn || !threadpool_free_) return;
  ggml_threadpool_params tpp = ggml_threadpool_params_default(n_threads);
  threadpool_ = new_fn(&tpp);
  if (threadpool_) llama_attach_threadpool(ctx_, threadpool_, nullptr);
}

// After a graph, ggml's pool threads spin for new work (1024 * 128 * poll pause instructions, about
// 100 ms at the default poll level of 50) before they sleep. Between decode steps that is what makes
// the next step start at once; during an image encode it takes the cores from the projector's own
// threads (a tile that encodes in 8 ms on one thread took 1.8 s on two), and while the engine idles
// from everything else. A paused pool sleeps at once and resumes by itself with the next graph.
void Scheduler::PauseThreadpool() {
  if (threadpool_ && threadpool_pause_) threadpool_pause_(threadpool_);
}

Scheduler::~Scheduler() {
  Stop();
  std::lock_guard<std::mutex> lock(g_schedulers_mu);
  g_schedulers.erase(this);
}

void Scheduler::StopAll(const void *owner) {
  std::lock_guard<std::mutex> lock(g_schedulers_mu);
  for (Scheduler *s : g_schedulers)
    if (s->owner_ == owner) s->Stop();
}

void Scheduler::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Scheduler::Submit(std::shared_ptr<Request> req) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      req->events->Finish({"abort", code::DISPOSED, "engine is disposed"});
      return;
    }
    live_[req->id] = req;
    queue_.push_back(std::move(req));
  }
  cv_.notify_one();
}

bool Scheduler::Abort(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(id);
  if (it == live_.end()) return false;
  it->second->aborted = true;
  cv_.notify_one();
  return true;
}

void Scheduler::Stop() {
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

void Scheduler::Forget(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  live_.erase(id);
}

std::vector<std::shared_ptr<Request>> Scheduler::Active() const {
  std::vector<std::shared_ptr<Request>> out;
  for (const auto &s : slots_)
    if (s) out.push_back(s);
  return out;
}

void Scheduler::Run() {
  AbortFlags abort_flags{&stop_flag_, &sole_};
  llama_set_abort_callback(ctx_, AbortDecode, &abort_flags);
  for (;;) {
    std::vector<std::shared_ptr<Request>> dropped;  // aborted while queued
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto ready = [&] { return stopping_ || !queue_.empty() || waiting_ || !Active().empty(); };
      if (!ready()) PauseThreadpool();  // idle: the pool's threads sleep instead of spinning
      cv_.wait(lock, ready);
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
      r->events->Finish({"abort", code::ABORTED, "generation aborted before it started"});
      Forget(r->id);
    }
    try {
      Iterate();
    } catch (const Error &e) {
      // a typed failure of the whole step (a lost rpc-server): every request in it ends with it
      for (auto &s : Active()) Finish(*s, "abort", e.code.c_str(), e.what());
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
  for (auto &r : rest) r->events->Finish({"abort", code::DISPOSED, "engine disposed before the request started"});
  {
    std::lock_guard<std::mutex> lock(mu_);
    live_.clear();
  }
  llama_set_abort_callback(ctx_, nullptr, nullptr);
}

void Scheduler::Iterate() {
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
bool Scheduler::Admit(std::shared_ptr<Request> &req) {
  if (req->aborted) {
    if (waiting_ == req) waiting_.reset();
    req->events->Finish({"abort", code::ABORTED, "generation aborted before it started"});
    Forget(req->id);
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
      req->events->Finish({"abort", e.code, e.what()});
      Forget(req->id);
      return true;
    }
  }
  // One adapter set at a time: a request of another set waits, and so does everything queued
  // after it (first come, first served: neither set starves), until the active slots drain.
  if (req->params.lora != lora_) {
    if (!Active().empty()) {
      waiting_ = req;
      return false;
    }
    ApplyLoras(ctx_, model_->loras, req->params.lora);
    lora_ = req->params.lora;
    // what the idle slots' caches hold was computed with the other adapters' weights: never reuse it
    for (size_t s = 0; s < slots_.size(); s++)
      if (kv_[s].cells > 0) DropCache(s);
  }
  const int32_t n_ctx = static_cast<int32_t>(n_ctx_);
  // in 64 bits: maxTokens may be as large as INT32_MAX
  const int32_t want = static_cast<int32_t>(std::min<int64_t>(n_ctx, static_cast<int64_t>(req->n_prompt) + req->params.max_tokens));
  SlotCache::Match match;
  const size_t slot = ChooseSlot(*req, match);
  // Idle slots' caches hold cells too: drop them, least recently used first, while the request
  // does not fit (the chosen slot's own cache becomes part of the request).
  auto fits = [&] { return reserved_ - kv_[slot].cells + want <= n_ctx; };
  while (!fits()) {
    size_t victim = slots_.size();
    for (size_t s = 0; s < slots_.size(); s++) {
      if (s == slot || slots_[s] || kv_[s].cells == 0) continue;
      if (victim == slots_.size() || kv_[s].last_used < kv_[victim].last_used) victim = s;
    }
    if (victim == slots_.size()) break;
    DropCache(victim);
  }
  if (!fits() && !Active().empty()) {
    waiting_ = req;
    return false;
  }
  waiting_.reset();
  // Keep the common prefix, remove the rest of the slot's sequence, and resume after the prefix.
  llama_memory_t mem = llama_get_memory(ctx_);
  const llama_seq_id seq = static_cast<llama_seq_id>(slot);
  if (kv_[slot].cells > 0 && !llama_memory_seq_rm(mem, seq, match.pos, -1)) {
    llama_memory_seq_rm(mem, seq, -1, -1);
    match = {};
  }
  reserved_ += want - kv_[slot].cells;
  kv_[slot].Clear();
  req->segment = match.segment;
  req->offset = match.offset;
  req->n_past = match.pos;
  req->n_cached = match.cells;
  req->reservation = want;
  req->sampler = MakeSampler(model_->vocab(), req->params.sampling, std::move(req->grammar));
  slots_[slot] = req;
  return true;
}

size_t Scheduler::ChooseSlot(const Request &req, SlotCache::Match &match) const {
  size_t best = slots_.size();
  for (size_t s = 0; s < slots_.size(); s++) {
    if (slots_[s]) continue;
    const SlotCache::Match m = opt_.prompt_cache ? kv_[s].Prefix(req.prompt, req.n_prompt - 1) : SlotCache::Match{};
    if (best != slots_.size()) {
      if (m.cells < match.cells) continue;
      if (m.cells == match.cells) {
        // no better prefix: an empty slot, else the least recently used (others keep theirs)
        const bool empty = kv_[s].cells == 0, best_empty = kv_[best].cells == 0;
        if (empty != best_empty ? !empty : kv_[s].last_used >= kv_[best].last_used) continue;
      }
    }
    best = s;
    match = m;
  }
  return best;
}

void Scheduler::DropCache(size_t slot) {
  llama_memory_seq_rm(llama_get_memory(ctx_), static_cast<llama_seq_id>(slot), -1, -1);
  reserved_ -= kv_[slot].cells;
  kv_[slot].Clear();
}

void Scheduler::Prepare(Request &req) {
  rpc::Check(model_->rpc, "before this request");  // a lost rpc-server: refused before any work
  const RequestParams &p = req.params;
  req.prompt = TokenizePrompt(model_->vocab(), model_->projector.get(), p.prompt, p.add_special, p.parse_special, req.images);
  req.images.clear();  // the chunks hold the preprocessed pixels now
  req.n_prompt = req.prompt.n_tokens;
  req.n_image_tokens = req.prompt.n_image_tokens;
  std::unordered_map<std::string, int> key_count;
  for (const auto &seg : req.prompt.segments)
    if (seg.media && !seg.cache_key.empty() && ++key_count[seg.cache_key] == 2) req.repeated_tiles[seg.cache_key] = nullptr;
  // the engine's own invariants: a decode needs a token, and logits come from a text token
  if (req.n_prompt == 0) throw Error(code::INVALID_ARGUMENT, "the prompt is empty");
  if (req.prompt.segments.back().media) throw Error(code::INVALID_ARGUMENT, "the prompt must not end with an image: add text after it");
  if (req.n_prompt >= static_cast<int32_t>(n_ctx_)) {
    throw Error(code::CONTEXT_FULL, "the prompt is " + std::to_string(req.n_prompt) + " tokens, the context holds " +
                                        std::to_string(n_ctx_) + ": shorten it or raise contextSize");
  }
}
void Scheduler::Step() {
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
        if (o.req->generating) o.req->events->Flush();
    int32_t rc = llama_decode(ctx_, b);
    sole_ = nullptr;
    rpc::Check(model_->rpc, "during a decode");  // its logits would be zeros: never sampled
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
        o.req->decoded.push_back(o.req->last_token);  // now in the KV cache
      }
      Sample(*o.req, o.index);
    }
  }

  // At most one image (run of consecutive image chunks) per step, so generating slots keep going.
  // An encode takes seconds: deliver what the others have generated first.
  if (media) {
    for (auto &s : slots_)
      if (s) s->events->Flush();
    EncodeMedia(*media);
  }
}

// Encodes the run of image chunks at the request's current segment and decodes their embeddings
// into its sequence, exactly as llama-mtmd-cli does (mtmd_batch, then
// mtmd_helper_decode_image_chunk). Tiles found in the model's image cache skip the encoder.
void Scheduler::EncodeMedia(Request &req) {
  const llama_seq_id seq = static_cast<llama_seq_id>(std::find_if(slots_.begin(), slots_.end(), [&](auto &s) { return s.get() == &req; }) - slots_.begin());
  Projector &projector = *model_->projector;
  ImageCache &cache = model_->image_cache;
  // per chunk of the run: an embedding already at hand (a tile seen earlier in this request, or
  // the image cache), else the chunk whose encode it takes (itself, or an equal tile before it)
  std::vector<ImageCache::Embedding> cached;
  std::vector<const mtmd_input_chunk *> source;
  std::unordered_map<std::string, const mtmd_input_chunk *> in_batch;
  mtmd::batch_ptr mbatch;
  size_t end = req.segment, n_encode = 0;
  for (; end < req.prompt.segments.size() && req.prompt.segments[end].media; end++) {
    const Prompt::Segment &seg = req.prompt.segments[end];
    auto rep = req.repeated_tiles.find(seg.cache_key);
    ImageCache::Embedding embd = rep != req.repeated_tiles.end() && rep->second ? rep->second : cache.Get(seg.cache_key);
    auto dup = seg.cache_key.empty() ? in_batch.end() : in_batch.find(seg.cache_key);
    if (embd || dup != in_batch.end()) {
      cached.push_back(embd);
      source.push_back(embd ? nullptr : dup->second);
      continue;
    }
    if (!mbatch) mbatch.reset(mtmd_batch_init(projector.ctx()));
    int32_t rc = mtmd_batch_add_chunk(mbatch.get(), seg.media);
    if (rc != 0 && n_encode > 0) break;  // batch full or incompatible: the rest goes next step
    if (rc != 0) {
      Finish(req, "abort", code::INTERNAL, "cannot encode image chunk (mtmd_batch_add_chunk: " + std::to_string(rc) + ")");
      return;
    }
    if (!seg.cache_key.empty()) in_batch[seg.cache_key] = seg.media;
    cached.push_back(nullptr);
    source.push_back(seg.media);
    n_encode++;
  }
  if (n_encode > 0) {
    PauseThreadpool();  // the projector computes with threads of its own
    const MtmdResult r = projector.Encode(mbatch.get(), req.aborted);
    req.encode_ms += r.ms;
    cache.CountEncodes(n_encode);
    if (req.aborted || stop_flag_) {
      if (!stop_flag_) Finish(req, "abort", code::ABORTED, "generation aborted during image encoding");
      return;
    }
    if (r.rc != 0) {
      Finish(req, "abort", code::IMAGE_INVALID, "image encoding failed: " + r.why);
      return;
    }
  }
  const size_t n_embd = static_cast<size_t>(llama_model_n_embd_inp(model_->model));
  for (size_t i = 0; req.segment < end; req.segment++, i++) {
    const Prompt::Segment &seg = req.prompt.segments[req.segment];
    const float *embd = cached[i] ? cached[i]->data() : mtmd_batch_get_output_embd(mbatch.get(), source[i]);
    if (!cached[i] && source[i] == seg.media) {
      const size_t n = n_embd * mtmd_input_chunk_get_n_tokens(seg.media);
      auto rep = req.repeated_tiles.find(seg.cache_key);
      if (rep != req.repeated_tiles.end()) {
        rep->second = std::make_shared<const std::vector<float>>(embd, embd + n);
        cache.Put(seg.cache_key, std::vector<float>(*rep->second));
      } else {
        cache.Put(seg.cache_key, std::vector<float>(embd, embd + n));
      }
    }
    llama_pos new_n_past = req.n_past;
    sole_ = &req;
    // the helper only reads the embeddings
    int32_t rc = mtmd_helper_decode_image_chunk(projector.ctx(), ctx_, seg.media, const_cast<float *>(embd), req.n_past, seq,
                                                static_cast<int32_t>(opt_.n_batch), &new_n_past, nullptr, nullptr);
    sole_ = nullptr;
    rpc::Check(model_->rpc, "while decoding an image");
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

void Scheduler::Sample(Request &req, int32_t index) {
  const llama_vocab *vocab = model_->vocab();
  llama_token t;
  try {
    t = llama_sampler_sample(req.sampler.get(), ctx_, index);
  } catch (const std::exception &e) {  // a grammar no token can continue: this request ends, not the batch
    Finish(req, "abort", code::INTERNAL, std::string("sampling failed: ") + e.what());
    return;
  }
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
  req.events->Delta(delta, req.params.want_tokens ? std::optional<int32_t>(t) : std::nullopt, logprob);
  if (stopped) {
    Finish(req, "stop");
  } else if (req.n_generated >= req.params.max_tokens) {
    Finish(req, "length");
  } else if (req.n_prompt + req.n_generated > req.reservation) {  // no KV cell left to decode it
    Finish(req, "length");
  } else {
    req.last_token = t;
  }
}

void Scheduler::Finish(Request &req, const std::string &reason, const char *err_code, const std::string &err_msg) {
  std::string rest = req.stream.Flush();
  if (!rest.empty()) req.events->Delta(rest, std::nullopt, std::nullopt);
  req.events->Finish(req.Summary(reason, err_code, err_msg, Clock::now()));
  std::shared_ptr<Request> keep;  // `req` outlives its slot until it is forgotten
  for (auto &s : slots_) {
    if (s.get() == &req) {
      const size_t slot = static_cast<size_t>(&s - slots_.data());
      reserved_ -= req.reservation;
      req.reservation = 0;
      // A request that ended normally leaves its prompt and answer for the next one to reuse;
      // after an error or abort the sequence's state is not trusted.
      if (opt_.prompt_cache && !err_code && req.generating) {
        kv_[slot].Assign(req.prompt, req.decoded);
        kv_[slot].last_used = ++use_clock_;
        reserved_ += kv_[slot].cells;
      } else {
        llama_memory_seq_rm(llama_get_memory(ctx_), static_cast<llama_seq_id>(slot), -1, -1);
        kv_[slot].Clear();
      }
      keep = std::move(s);
      break;
    }
  }
  Forget(req.id);
}

}  // namespace smolvlm
