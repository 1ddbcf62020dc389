#include "model.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include "engine.h"
#include "errors.h"
#include "gguf.h"
#include "addon_data.h"
#include "jobs.h"
#include "log.h"
#include "prompt.h"

namespace smolvlm {

void ModelHandle::CheckImageShape(uint32_t width, uint32_t height, uint32_t longest_edge) const {
  const double aspect = static_cast<double>(std::max(width, height)) / std::min(width, height);
  const uint32_t edge = longest_edge ? longest_edge : meta.preproc_longest_edge ? meta.preproc_longest_edge : 1024;
  const double limit = std::max(8.0, edge / 4.0);
  if (aspect > limit) {
    throw Error(code::IMAGE_INVALID, "image is " + std::to_string(width) + "x" + std::to_string(height) + ": more elongated than " +
                                         std::to_string(static_cast<int>(limit)) + ":1, which this projector cannot tile; crop or pad it");
  }
}

ModelHandle::~ModelHandle() {
  if (mtmd) mtmd_free(mtmd);
  if (model) llama_model_free(model);
}

namespace {

// ---- validation of files before llama.cpp sees them (its asserts would kill the process) ----

void CheckReadable(const std::string &path, const char *what) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw Error(code::MODEL_NOT_FOUND, std::string(what) + " not found: " + path);
    throw Error(code::MODEL_UNREADABLE, std::string(what) + " cannot be read: " + path + " (" + strerror(errno) + ")");
  }
  if (S_ISDIR(st.st_mode)) throw Error(code::MODEL_UNREADABLE, std::string(what) + " is a directory, not a GGUF file: " + path);
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(code::MODEL_UNREADABLE, std::string(what) + " cannot be opened: " + path + " (" + strerror(errno) + ")");
  char magic[4] = {};
  f.read(magic, 4);
  if (f.gcount() != 4 || std::string(magic, 4) != "GGUF") {
    throw Error(code::NOT_GGUF, std::string(what) + " is not a GGUF file (bad magic): " + path);
  }
}

struct GgufMeta {
  gguf_context *ctx = nullptr;
  ~GgufMeta() { if (ctx) gguf_free(ctx); }
  std::string Str(const char *key) const {
    int64_t id = gguf_find_key(ctx, key);
    return id >= 0 && gguf_get_kv_type(ctx, id) == GGUF_TYPE_STRING ? gguf_get_val_str(ctx, id) : "";
  }
  int64_t U32(const char *key) const {
    int64_t id = gguf_find_key(ctx, key);
    if (id < 0) return -1;
    switch (gguf_get_kv_type(ctx, id)) {
      case GGUF_TYPE_UINT32: return gguf_get_val_u32(ctx, id);
      case GGUF_TYPE_INT32: return gguf_get_val_i32(ctx, id);
      default: return -1;
    }
  }
};

void ReadGguf(const std::string &path, const char *what, GgufMeta &out) {
  log::ClearLastError();
  gguf_init_params params{/*no_alloc*/ true, /*ctx*/ nullptr};
  out.ctx = gguf_init_from_file(path.c_str(), params);
  if (!out.ctx) {
    std::string why = log::LastError();
    throw Error(code::MODEL_INVALID, std::string(what) + " is truncated or corrupt: " + path + (why.empty() ? "" : " (" + why + ")"));
  }
}

uint64_t FileSize(const std::string &path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// ---- progress to JS: coalesced, never blocking the loader ----

struct ProgressState {
  Napi::ThreadSafeFunction tsfn;
  bool active = false;
  float last = -1.f;
  float offset = 0.f, scale = 1.f;  // model then projector share one 0..1 scale
  std::shared_ptr<std::atomic<bool>> abort;

  bool Report(float p) {
    float v = offset + scale * p;
    if (active && (v - last >= 0.01f || (v >= 1.f && last < 1.f))) {
      last = v;
      auto *boxed = new float(v);
      if (tsfn.NonBlockingCall(boxed, [](Napi::Env env, Napi::Function fn, float *value) {
            std::unique_ptr<float> owned(value);
            if (env != nullptr) fn.Call({Napi::Number::New(env, *value)});
          }) != napi_ok) {
        delete boxed;
      }
    }
    return !abort->load();
  }
};

bool ModelProgress(float p, void *ud) { return static_cast<ProgressState *>(ud)->Report(p); }

// Graph callback of the projector: asks to see a node every so often and stops the graph when
// the request being encoded was aborted. Costs one branch per node otherwise.
bool ProjectorEval(struct ggml_tensor *, bool ask, void *ud) {
  auto *h = static_cast<ModelHandle *>(ud);
  if (ask) return (h->eval_nodes.fetch_add(1, std::memory_order_relaxed) & 31) == 0;
  const std::atomic<bool> *flag = h->encode_abort.load();
  return !(flag && flag->load());
}

void Validate(const LoadOptions &opt, GgufMeta &text, GgufMeta &proj) {
  CheckReadable(opt.model_path, "model");
  ReadGguf(opt.model_path, "model", text);
  const std::string arch = text.Str("general.architecture");
  if (arch.empty()) throw Error(code::MODEL_INVALID, "model has no general.architecture: " + opt.model_path);
  if (arch == "clip") {
    throw Error(code::MODEL_INVALID, "model file is a projector (mmproj), not a language model: " + opt.model_path +
                                         " (pass it as mmproj)");
  }
  const int64_t n_embd_file = text.U32((arch + ".embedding_length").c_str());

  if (!opt.mmproj_path.empty()) {
    CheckReadable(opt.mmproj_path, "projector");
    ReadGguf(opt.mmproj_path, "projector", proj);
    const std::string parch = proj.Str("general.architecture");
    if (parch != "clip") {
      throw Error(code::PROJECTOR_MISMATCH, "projector file is not a vision projector (general.architecture is '" + parch +
                                                "', expected 'clip'): " + opt.mmproj_path);
    }
    const int64_t proj_dim = proj.U32("clip.vision.projection_dim");
    if (proj_dim > 0 && n_embd_file > 0 && proj_dim != n_embd_file) {
      throw Error(code::PROJECTOR_MISMATCH, "projector does not match the model: it projects to " + std::to_string(proj_dim) +
                                                " dimensions, the model's embedding length is " + std::to_string(n_embd_file));
    }
    if (proj.U32("clip.has_vision_encoder") == -1 && gguf_find_key(proj.ctx, "clip.has_vision_encoder") < 0) {
      throw Error(code::PROJECTOR_MISMATCH, "projector has no vision encoder: " + opt.mmproj_path);
    }
  }
}

std::shared_ptr<ModelHandle> DoLoad(const LoadOptions &opt, ProgressState &progress) {
  auto h = std::make_shared<ModelHandle>();
  h->image_cache.SetMaxBytes(static_cast<size_t>(opt.image_cache_bytes));
  GgufMeta text, proj;
  Validate(opt, text, proj);
  const std::string arch = text.Str("general.architecture");
  const uint64_t model_bytes = FileSize(opt.model_path), proj_bytes = opt.mmproj_path.empty() ? 0 : FileSize(opt.mmproj_path);
  progress.scale = model_bytes + proj_bytes > 0 ? static_cast<float>(model_bytes) / static_cast<float>(model_bytes + proj_bytes) : 1.f;

  llama_model_params mp = ModelParams(opt);
  mp.progress_callback = ModelProgress;
  mp.progress_callback_user_data = &progress;
  log::ClearLastError();
  h->model = llama_model_load_from_file(opt.model_path.c_str(), mp);
  if (!h->model) {
    if (progress.abort->load()) throw Error(code::ABORTED, "model load aborted");
    std::string why = log::LastError();
    throw Error(code::MODEL_INVALID, "failed to load model " + opt.model_path + (why.empty() ? "" : ": " + why));
  }

  ModelMeta &m = h->meta;
  char buf[512];
  m.architecture = arch;
  m.name = text.Str("general.name");
  if (llama_model_desc(h->model, buf, sizeof buf) > 0) m.description = buf;
  if (const char *tmpl = llama_model_chat_template(h->model, nullptr)) m.chat_template = tmpl;
  m.n_params = llama_model_n_params(h->model);
  m.size_bytes = llama_model_size(h->model);
  m.n_ctx_train = llama_model_n_ctx_train(h->model);
  m.n_embd = llama_model_n_embd(h->model);
  m.n_layer = llama_model_n_layer(h->model);
  m.n_vocab = llama_vocab_n_tokens(h->vocab());
  m.bos = llama_vocab_bos(h->vocab());
  m.eos = llama_vocab_eos(h->vocab());
  m.marker = mtmd_default_marker();

  if (!opt.mmproj_path.empty()) {
    progress.offset = progress.scale;
    progress.scale = 1.f - progress.offset;
    mtmd_context_params cp = ProjectorParams(opt);
    cp.cb_eval = ProjectorEval;
    cp.cb_eval_user_data = h.get();
    cp.progress_callback = ModelProgress;
    cp.progress_callback_user_data = &progress;
    log::ClearLastError();
    h->mtmd = mtmd_init_from_file(opt.mmproj_path.c_str(), h->model, cp);
    if (!h->mtmd) {
      if (progress.abort->load()) throw Error(code::ABORTED, "model load aborted");
      std::string why = log::LastError();
      throw Error(code::PROJECTOR_MISMATCH, "failed to load projector " + opt.mmproj_path + (why.empty() ? "" : ": " + why));
    }
    m.has_vision = mtmd_support_vision(h->mtmd);
    // mtmd has no live accounting API; its dry run reserves exactly what the load allocated.
    h->projector_memory = memory::Projector(opt.mmproj_path, ProjectorParams(opt));
    m.mmproj_size_bytes = proj_bytes;
    m.projector_type = proj.Str("clip.projector_type");
    const int64_t image_size = proj.U32("clip.vision.image_size"), patch = proj.U32("clip.vision.patch_size");
    const int64_t scale = proj.U32("clip.vision.projector.scale_factor");
    const int64_t longest = proj.U32("clip.vision.preproc_image_size");
    m.preproc_longest_edge = longest > 0 ? static_cast<uint32_t>(longest) : 0;
    m.image_size = image_size > 0 ? image_size : 0;
    m.patch_size = patch > 0 ? patch : 0;
    m.scale_factor = scale > 0 ? scale : 0;
    if (image_size > 0 && patch > 0 && scale > 0) {
      const int64_t side = image_size / patch;
      m.tokens_per_tile = static_cast<uint32_t>((side * side) / (scale * scale));
    }
    FindVisionContext(*h);
  }
  progress.Report(1.f);
  return h;
}

}  // namespace

void ValidateModelFiles(const LoadOptions &opt) {
  GgufMeta text, proj;
  Validate(opt, text, proj);
}

llama_model_params ModelParams(const LoadOptions &opt) {
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = opt.gpu_layers;
  if (!opt.use_gpu) {
    // No devices at all: with only n_gpu_layers = 0, llama.cpp still reserves compute buffers on
    // the GPU to offload large matrix products.
    static ggml_backend_dev_t no_devices[] = {nullptr};
    mp.devices = no_devices;
  }
  if (opt.use_mmap < 0 && !opt.use_mlock) {
    mp.load_mode = LLAMA_LOAD_MODE_AUTO;
  } else if (opt.use_mmap != 0) {
    mp.load_mode = opt.use_mlock ? LLAMA_LOAD_MODE_MMAP_MLOCK : LLAMA_LOAD_MODE_MMAP;
  } else {
    mp.load_mode = opt.use_mlock ? LLAMA_LOAD_MODE_MLOCK : LLAMA_LOAD_MODE_NONE;
  }
  return mp;
}

mtmd_context_params ProjectorParams(const LoadOptions &opt) {
  mtmd_context_params cp = mtmd_context_params_default();
  cp.use_gpu = opt.mmproj_gpu && opt.use_gpu;
  cp.print_timings = false;
  cp.n_threads = opt.threads > 0 ? opt.threads : static_cast<int>(std::thread::hardware_concurrency());
  cp.flash_attn_type = static_cast<llama_flash_attn_type>(opt.flash_attn);
  cp.warmup = opt.warmup;
  cp.image_min_tokens = opt.image_min_tokens;
  cp.image_max_tokens = opt.image_max_tokens;
  return cp;
}

LoadOptions ReadLoadOptions(const Napi::Object &o) {
  LoadOptions opt;
  auto str = [&](const char *k) { return o.Has(k) && o.Get(k).IsString() ? o.Get(k).As<Napi::String>().Utf8Value() : std::string(); };
  auto num = [&](const char *k, int def) { return o.Has(k) && o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().Int32Value() : def; };
  auto flag = [&](const char *k, bool def) { return o.Has(k) && o.Get(k).IsBoolean() ? o.Get(k).As<Napi::Boolean>().Value() : def; };
  opt.model_path = str("model");
  opt.mmproj_path = str("mmproj");
  opt.gpu_layers = num("gpuLayers", 0);
  opt.use_mmap = o.Has("useMmap") && o.Get("useMmap").IsBoolean() ? (flag("useMmap", true) ? 1 : 0) : -1;
  opt.use_mlock = flag("useMlock", false);
  opt.mmproj_gpu = flag("mmprojGpu", true);
  opt.use_gpu = flag("useGpu", true);
  opt.threads = num("threads", 0);
  opt.image_min_tokens = num("imageMinTokens", -1);
  opt.image_max_tokens = num("imageMaxTokens", -1);
  opt.flash_attn = num("flashAttn", LLAMA_FLASH_ATTN_TYPE_AUTO);
  opt.warmup = flag("warmup", true);
  if (o.Has("imageCacheBytes") && o.Get("imageCacheBytes").IsNumber()) opt.image_cache_bytes = o.Get("imageCacheBytes").As<Napi::Number>().DoubleValue();
  return opt;
}

Napi::Function Model::Init(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "Model",
                                  {
                                      InstanceMethod<&Model::Info>("info"),
                                      InstanceMethod<&Model::Tokenize>("tokenize"),
                                      InstanceMethod<&Model::Detokenize>("detokenize"),
                                      InstanceMethod<&Model::ApplyTemplate>("applyTemplate"),
                                      InstanceMethod<&Model::CreateEngine>("createEngine"),
                                      InstanceMethod<&Model::CountTokens>("countTokens"),
                                      InstanceMethod<&Model::ImageCacheStats>("imageCache"),
                                      InstanceMethod<&Model::ProjectorMemory>("projectorMemory"),
                                      InstanceMethod<&Model::ConfigureImageCache>("configureImageCache"),
                                      InstanceMethod<&Model::Dispose>("dispose"),
                                  });
  return fn;
}

// Constructed only by Load, with an External holding the loaded handle.
Model::Model(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Model>(info) {
  if (info.Length() < 1 || !info[0].IsExternal()) ThrowInvalid(info.Env(), "Model cannot be constructed directly; use loadModel()");
  auto *boxed = info[0].As<Napi::External<std::shared_ptr<ModelHandle>>>().Data();
  handle_ = *boxed;
  // Weights are mmapped or on a device, but V8 should still know a model is heavy.
  external_bytes_ = static_cast<int64_t>(handle_->meta.size_bytes + handle_->meta.mmproj_size_bytes);
  Napi::MemoryManagement::AdjustExternalMemory(info.Env(), external_bytes_);
}

Napi::Value Model::Load(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) ThrowInvalid(env, "loadModel: options object expected");
  LoadOptions opt = ReadLoadOptions(info[0].As<Napi::Object>());
  if (opt.model_path.empty()) ThrowInvalid(env, "loadModel: options.model (path to a .gguf file) is required");

  auto abort = std::make_shared<std::atomic<bool>>(false);
  auto progress = std::make_shared<ProgressState>();
  progress->abort = abort;
  if (info.Length() > 1 && info[1].IsFunction()) {
    progress->tsfn = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "smolvlm:progress", 0, 1);
    progress->active = true;
  }
  auto result = std::make_shared<std::shared_ptr<ModelHandle>>();
  Napi::Promise promise = RunOffThread(
      env, "smolvlm:load",
      [opt, progress, result]() {
        struct Release {
          ProgressState &p;
          ~Release() { if (p.active) p.tsfn.Release(); }
        } release{*progress};
        *result = DoLoad(opt, *progress);
      },
      [result](Napi::Env env) -> Napi::Value {
        auto boxed = Napi::External<std::shared_ptr<ModelHandle>>::New(env, result.get());
        return env.GetInstanceData<AddonData>()->model_ctor.New({boxed});
      },
      abort);
  Napi::Object task = Napi::Object::New(env);
  task.Set("promise", promise);
  task.Set("abort", Napi::Function::New(env, [abort](const Napi::CallbackInfo &ci) {
             abort->store(true);
             return ci.Env().Undefined();
           }));
  return task;
}

std::shared_ptr<ModelHandle> Model::Live(Napi::Env env) const {
  if (!handle_) throw ToJsError(env, code::DISPOSED, "model is disposed");
  return handle_;
}

Napi::Value Model::Info(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const auto h = Live(env);
  const ModelMeta &m = h->meta;
  Napi::Object o = Napi::Object::New(env);
  o.Set("architecture", m.architecture);
  o.Set("name", m.name);
  o.Set("description", m.description);
  o.Set("chatTemplate", m.chat_template);
  o.Set("parameters", Napi::Number::New(env, static_cast<double>(m.n_params)));
  o.Set("sizeBytes", Napi::Number::New(env, static_cast<double>(m.size_bytes)));
  o.Set("contextLength", m.n_ctx_train);
  o.Set("embeddingLength", m.n_embd);
  o.Set("layers", m.n_layer);
  o.Set("vocabSize", m.n_vocab);
  o.Set("bosToken", m.bos);
  o.Set("eosToken", m.eos);
  o.Set("mediaMarker", m.marker);
  o.Set("hasVision", m.has_vision);
  if (m.has_vision) {
    Napi::Object v = Napi::Object::New(env);
    v.Set("projectorType", m.projector_type);
    v.Set("imageSize", m.image_size);
    v.Set("patchSize", m.patch_size);
    v.Set("scaleFactor", m.scale_factor);
    v.Set("tokensPerTile", m.tokens_per_tile);
    v.Set("longestEdge", h->default_longest_edge ? h->default_longest_edge : m.preproc_longest_edge);
    v.Set("resolutionControl", h->clip != nullptr);
    v.Set("sizeBytes", Napi::Number::New(env, static_cast<double>(m.mmproj_size_bytes)));
    o.Set("vision", v);
  }
  return o;
}

namespace {

class TokenizeWorker : public Napi::AsyncWorker {
 public:
  TokenizeWorker(Napi::Env env, std::shared_ptr<ModelHandle> h, std::string text, bool add_special, bool parse_special)
      : Napi::AsyncWorker(env, "smolvlm:tokenize"), deferred_(Napi::Promise::Deferred::New(env)), h_(std::move(h)),
        text_(std::move(text)), add_special_(add_special), parse_special_(parse_special) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    int32_t n = -llama_tokenize(h_->vocab(), text_.data(), static_cast<int32_t>(text_.size()), nullptr, 0, add_special_, parse_special_);
    tokens_.resize(n > 0 ? n : 0);
    if (n > 0) llama_tokenize(h_->vocab(), text_.data(), static_cast<int32_t>(text_.size()), tokens_.data(), n, add_special_, parse_special_);
  }
  void OnOK() override {
    auto arr = Napi::Int32Array::New(Env(), tokens_.size());
    std::copy(tokens_.begin(), tokens_.end(), arr.Data());
    deferred_.Resolve(arr);
  }
  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<ModelHandle> h_;
  std::string text_;
  bool add_special_, parse_special_;
  std::vector<llama_token> tokens_;
};

class DetokenizeWorker : public Napi::AsyncWorker {
 public:
  DetokenizeWorker(Napi::Env env, std::shared_ptr<ModelHandle> h, std::vector<llama_token> tokens, bool special)
      : Napi::AsyncWorker(env, "smolvlm:detokenize"), deferred_(Napi::Promise::Deferred::New(env)), h_(std::move(h)),
        tokens_(std::move(tokens)), special_(special) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    std::string out(tokens_.size() * 8 + 16, '\0');
    int32_t n = llama_detokenize(h_->vocab(), tokens_.data(), static_cast<int32_t>(tokens_.size()), out.data(),
                                 static_cast<int32_t>(out.size()), false, special_);
    if (n < 0) {
      out.resize(-n);
      n = llama_detokenize(h_->vocab(), tokens_.data(), static_cast<int32_t>(tokens_.size()), out.data(),
                           static_cast<int32_t>(out.size()), false, special_);
    }
    out.resize(n > 0 ? n : 0);
    text_ = std::move(out);
  }
  void OnOK() override { deferred_.Resolve(Napi::String::New(Env(), text_)); }
  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<ModelHandle> h_;
  std::vector<llama_token> tokens_;
  bool special_;
  std::string text_;
};

class CountTokensWorker : public Napi::AsyncWorker {
 public:
  CountTokensWorker(Napi::Env env, std::shared_ptr<ModelHandle> h, std::string prompt, std::vector<PromptImage> images, bool add_special)
      : Napi::AsyncWorker(env, "smolvlm:countTokens"), deferred_(Napi::Promise::Deferred::New(env)), h_(std::move(h)),
        prompt_(std::move(prompt)), images_(std::move(images)), add_special_(add_special) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      Prompt p = TokenizePrompt(*h_, prompt_, add_special_, true, images_);
      total_ = p.n_tokens;
      image_ = p.n_image_tokens;
    } catch (const Error &e) {
      code_ = e.code;
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Object o = Napi::Object::New(Env());
    o.Set("total", Napi::Number::New(Env(), static_cast<double>(total_)));
    o.Set("image", Napi::Number::New(Env(), static_cast<double>(image_)));
    deferred_.Resolve(o);
  }
  void OnError(const Napi::Error &e) override {
    deferred_.Reject(ToJsError(Env(), code_, e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<ModelHandle> h_;
  std::string prompt_;
  std::vector<PromptImage> images_;
  bool add_special_;
  std::string code_ = code::INTERNAL;
  int64_t total_ = 0, image_ = 0;
};

}  // namespace

Napi::Value Model::CountTokens(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto h = Live(env);
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray()) ThrowInvalid(env, "countTokens(prompt, images) expected");
  Napi::Array images = info[1].As<Napi::Array>();
  std::vector<PromptImage> prompt_images;
  for (uint32_t i = 0; i < images.Length(); i++) prompt_images.push_back(ImageFromJs(env, *h, images.Get(i)));
  const bool add_special = info.Length() < 3 || info[2].ToBoolean();
  auto *w = new CountTokensWorker(env, h, info[0].As<Napi::String>().Utf8Value(), std::move(prompt_images), add_special);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value Model::Tokenize(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto h = Live(env);
  if (info.Length() < 1 || !info[0].IsString()) ThrowInvalid(env, "tokenize: text must be a string");
  bool add_special = info.Length() > 1 && info[1].ToBoolean();
  bool parse_special = info.Length() > 2 && info[2].ToBoolean();
  auto *w = new TokenizeWorker(env, h, info[0].As<Napi::String>().Utf8Value(), add_special, parse_special);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value Model::Detokenize(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto h = Live(env);
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    ThrowInvalid(env, "detokenize: tokens must be an Int32Array");
  }
  auto arr = info[0].As<Napi::Int32Array>();
  std::vector<llama_token> tokens(arr.Data(), arr.Data() + arr.ElementLength());
  const int32_t n_vocab = h->meta.n_vocab;
  for (llama_token t : tokens)
    if (t < 0 || t >= n_vocab) ThrowInvalid(env, "detokenize: token id " + std::to_string(t) + " is out of range [0, " + std::to_string(n_vocab) + ")");
  bool special = info.Length() > 1 && info[1].ToBoolean();
  auto *w = new DetokenizeWorker(env, h, std::move(tokens), special);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value Model::ApplyTemplate(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto h = Live(env);
  if (info.Length() < 1 || !info[0].IsArray()) ThrowInvalid(env, "applyTemplate: messages array expected");
  auto arr = info[0].As<Napi::Array>();
  bool add_assistant = info.Length() < 2 || info[1].ToBoolean();
  std::string tmpl = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : h->meta.chat_template;
  std::vector<std::string> roles(arr.Length()), contents(arr.Length());
  std::vector<llama_chat_message> msgs(arr.Length());
  size_t total = 0;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object m = arr.Get(i).As<Napi::Object>();
    roles[i] = m.Get("role").ToString().Utf8Value();
    contents[i] = m.Get("content").ToString().Utf8Value();
    msgs[i] = {roles[i].c_str(), contents[i].c_str()};
    total += roles[i].size() + contents[i].size();
  }
  std::string out(total * 2 + 256, '\0');
  int32_t n = llama_chat_apply_template(tmpl.empty() ? nullptr : tmpl.c_str(), msgs.data(), msgs.size(), add_assistant,
                                        out.data(), static_cast<int32_t>(out.size()));
  if (n > static_cast<int32_t>(out.size())) {
    out.resize(n);
    n = llama_chat_apply_template(tmpl.empty() ? nullptr : tmpl.c_str(), msgs.data(), msgs.size(), add_assistant, out.data(), n);
  }
  if (n < 0) ThrowInvalid(env, "the model's chat template is not supported by llama.cpp; use raw prompts");
  out.resize(n);
  return Napi::String::New(env, out);
}

Napi::Value Model::CreateEngine(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto h = Live(env);
  if (info.Length() < 1 || !info[0].IsObject()) ThrowInvalid(env, "createEngine: options object expected");
  return Engine::Create(env, h, info[0].As<Napi::Object>());
}

Napi::Value Model::ImageCacheStats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ImageCache::Stats s = Live(env)->image_cache.stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("hits", Napi::Number::New(env, static_cast<double>(s.hits)));
  o.Set("misses", Napi::Number::New(env, static_cast<double>(s.misses)));
  o.Set("evictions", Napi::Number::New(env, static_cast<double>(s.evictions)));
  o.Set("encodes", Napi::Number::New(env, static_cast<double>(s.encodes)));
  o.Set("bytes", Napi::Number::New(env, static_cast<double>(s.bytes)));
  o.Set("entries", Napi::Number::New(env, static_cast<double>(s.entries)));
  o.Set("maxBytes", Napi::Number::New(env, static_cast<double>(s.max_bytes)));
  return o;
}

Napi::Value Model::ProjectorMemory(const Napi::CallbackInfo &info) {
  return memory::ToJs(info.Env(), Live(info.Env())->projector_memory);
}

Napi::Value Model::ConfigureImageCache(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto h = Live(env);
  if (info.Length() > 0 && info[0].IsNumber()) h->image_cache.SetMaxBytes(static_cast<size_t>(info[0].As<Napi::Number>().DoubleValue()));
  if (info.Length() > 1 && info[1].ToBoolean()) h->image_cache.Clear();
  return env.Undefined();
}

Napi::Value Model::Dispose(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!handle_) return RunOffThread(env, "smolvlm:dispose", [] {}, [](Napi::Env e) { return e.Undefined(); });
  auto h = std::move(handle_);
  handle_.reset();
  Napi::MemoryManagement::AdjustExternalMemory(env, -external_bytes_);
  external_bytes_ = 0;
  // Freeing device buffers can take a while: drop our reference off the JS thread. Engines still
  // alive hold their own reference; the JS layer disposes them first.
  auto box = std::make_shared<std::shared_ptr<ModelHandle>>(std::move(h));
  return RunOffThread(env, "smolvlm:dispose", [box] { box->reset(); }, [](Napi::Env e) { return e.Undefined(); });
}

}  // namespace smolvlm
