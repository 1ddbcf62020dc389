// The order follows js.h: errors, strict readers, what JS sends, what JS receives.
#include "js.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

namespace smolvlm::js {

Napi::Error ToError(Napi::Env env, const std::string &code, const std::string &message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

Napi::Error ToError(Napi::Env env, const Error &e) { return ToError(env, e.code, e.what()); }

void ThrowInvalid(Napi::Env env, const std::string &message) { throw ToError(env, code::INVALID_ARGUMENT, message); }

// ---- strict readers ----

namespace {

[[noreturn]] void Malformed(Napi::Env env, const char *key, const std::string &what) {
  throw ToError(env, code::INTERNAL, std::string("native option '") + key + "' missing or not " + what);
}

std::string Str(double v) {
  std::ostringstream out;
  out << std::setprecision(17) << v;
  return out.str();
}

[[noreturn]] void OutOfRange(Napi::Env env, const char *key, double v, const std::string &range) {
  throw ToError(env, code::INTERNAL, std::string("native option '") + key + "' is " + Str(v) + ", outside " + range);
}

}  // namespace

std::string String(const Napi::Object &o, const char *key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) Malformed(o.Env(), key, "a string");
  return v.As<Napi::String>().Utf8Value();
}

bool Bool(const Napi::Object &o, const char *key) {
  Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) Malformed(o.Env(), key, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

double Number(const Napi::Object &o, const char *key, double min) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) Malformed(o.Env(), key, "a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (std::isnan(d) || d < min) OutOfRange(o.Env(), key, d, ">= " + Str(min));
  return d;
}

int64_t Integer(const Napi::Object &o, const char *key, int64_t min, int64_t max) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) Malformed(o.Env(), key, "an integer");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (std::trunc(d) != d) Malformed(o.Env(), key, "an integer");
  if (d < static_cast<double>(min) || d > static_cast<double>(max)) OutOfRange(o.Env(), key, d, "[" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return static_cast<int64_t>(d);
}

std::vector<std::string> Strings(const Napi::Object &o, const char *key) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) Malformed(o.Env(), key, "an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value s = a.Get(i);
    if (!s.IsString()) Malformed(o.Env(), key, "an array of strings");
    out.push_back(s.As<Napi::String>().Utf8Value());
  }
  return out;
}

bool BoolArg(const Napi::CallbackInfo &info, size_t index, const char *name) {
  if (info.Length() <= index || !info[index].IsBoolean()) {
    throw ToError(info.Env(), code::INTERNAL, std::string("native argument '") + name + "' missing or not a boolean");
  }
  return info[index].As<Napi::Boolean>().Value();
}

// ---- what JS sends ----

namespace {

/** An array of objects at `key`, each passed to `each`. */
template <class F>
void Objects(const Napi::Object &o, const char *key, F each) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) Malformed(o.Env(), key, "an array of objects");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsObject()) Malformed(o.Env(), key, "an array of objects");
    each(e.As<Napi::Object>());
  }
}

}  // namespace

LoadOptions ReadLoadOptions(const Napi::Object &o) {
  LoadOptions opt;
  opt.model_path = String(o, "model");
  opt.mmproj_path = String(o, "mmproj");
  opt.gpu_layers = static_cast<int32_t>(Integer(o, "gpuLayers", -1));
  // true, false, or 'auto': llama.cpp's choice (mmap unless a device cannot map files)
  const Napi::Value mmap = o.Get("useMmap");
  if (mmap.IsBoolean()) opt.use_mmap = mmap.As<Napi::Boolean>().Value() ? 1 : 0;
  else if (mmap.IsString() && mmap.As<Napi::String>().Utf8Value() == "auto") opt.use_mmap = -1;
  else Malformed(o.Env(), "useMmap", "a boolean or 'auto'");
  opt.use_mlock = Bool(o, "useMlock");
  opt.mmproj_gpu = Bool(o, "mmprojGpu");
  opt.use_gpu = Bool(o, "useGpu");
  opt.threads = static_cast<int32_t>(Integer(o, "threads", 1));
  opt.image_min_tokens = static_cast<int32_t>(Integer(o, "imageMinTokens", -1));
  opt.image_max_tokens = static_cast<int32_t>(Integer(o, "imageMaxTokens", -1));
  opt.flash_attn = static_cast<int32_t>(Integer(o, "flashAttn", -1, 1));
  opt.warmup = Bool(o, "warmup");
  opt.image_cache_bytes = Number(o, "imageCacheBytes", 0);
  Objects(o, "lora", [&](const Napi::Object &l) {
    opt.lora.push_back({String(l, "path"), String(l, "id"), static_cast<float>(Number(l, "scale"))});
  });
  opt.rpc = Strings(o, "rpc");
  opt.rpc_timeout_ms = static_cast<int32_t>(Integer(o, "rpcTimeoutMs", 1, 0x7fffffff));
  return opt;
}

EngineOptions ReadEngineOptions(const Napi::Object &o) {
  EngineOptions opt;
  opt.n_ctx = static_cast<uint32_t>(Integer(o, "contextSize", 1));
  opt.n_batch = static_cast<uint32_t>(Integer(o, "batchSize", 1));
  opt.n_ubatch = static_cast<uint32_t>(Integer(o, "ubatchSize", 1));
  opt.n_parallel = static_cast<uint32_t>(Integer(o, "parallel", 1));
  opt.n_threads = static_cast<int32_t>(Integer(o, "threads", 1));
  opt.n_threads_batch = static_cast<int32_t>(Integer(o, "threadsBatch", 1));
  opt.flash_attn = static_cast<int32_t>(Integer(o, "flashAttn", -1, 1));
  opt.type_k = static_cast<int32_t>(Integer(o, "typeK", 0, GGML_TYPE_COUNT - 1));
  opt.type_v = static_cast<int32_t>(Integer(o, "typeV", 0, GGML_TYPE_COUNT - 1));
  opt.prompt_cache = Bool(o, "promptCache");
  opt.kv_unified = Bool(o, "kvUnified");
  return opt;
}

RequestParams ReadGenerateParams(const Napi::Object &o) {
  RequestParams p;
  p.prompt = String(o, "prompt");
  p.add_special = Bool(o, "addSpecial");
  p.parse_special = Bool(o, "parseSpecial");
  p.max_tokens = static_cast<int32_t>(Integer(o, "maxTokens", 1));
  SamplingParams &s = p.sampling;
  s.temperature = static_cast<float>(Number(o, "temperature", 0));
  s.top_k = static_cast<int32_t>(Number(o, "topK"));
  s.top_p = static_cast<float>(Number(o, "topP"));
  s.min_p = static_cast<float>(Number(o, "minP"));
  s.repeat_penalty = static_cast<float>(Number(o, "repeatPenalty"));
  s.repeat_last_n = static_cast<int32_t>(Integer(o, "repeatLastN", 0));
  s.seed = static_cast<uint32_t>(Integer(o, "seed", 0, UINT32_MAX));
  s.ignore_eos = Bool(o, "ignoreEos");
  p.want_tokens = Bool(o, "tokens");
  p.want_logprobs = Bool(o, "logprobs");
  p.stream = Bool(o, "stream");
  p.stop = Strings(o, "stop");
  Objects(o, "lora", [&](const Napi::Object &l) {
    p.lora.push_back({static_cast<int32_t>(Integer(l, "index", 0)), static_cast<float>(Number(l, "scale"))});
  });
  return p;
}

std::vector<Image> ReadImages(Napi::Env env, const Projector *projector, const Napi::Array &images) {
  std::vector<Image> out;
  for (uint32_t i = 0; i < images.Length(); i++) {
    // the one guard of "an image needs a projector" (generate and countTokens both come here)
    if (!projector) throw ToError(env, code::NO_VISION, "this model was loaded without a projector (mmproj): it cannot see images");
    Napi::Value value = images.Get(i);
    if (!value.IsObject()) Malformed(env, "images[]", "an object");
    Napi::Object im = value.As<Napi::Object>();
    Napi::Value data_v = im.Get("data");
    if (!data_v.IsTypedArray() || data_v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) Malformed(env, "data", "a Uint8Array");
    auto data = data_v.As<Napi::Uint8Array>();
    const uint32_t w = static_cast<uint32_t>(Integer(im, "width", 0, UINT32_MAX));
    const uint32_t h = static_cast<uint32_t>(Integer(im, "height", 0, UINT32_MAX));
    const uint64_t want = static_cast<uint64_t>(w) * h * 3;
    if (w == 0 || h == 0 || want != data.ByteLength()) {
      throw ToError(env, code::IMAGE_INVALID, "image buffer is " + std::to_string(data.ByteLength()) +
                                                  " bytes, expected width*height*3 = " + std::to_string(want));
    }
    const std::string id = String(im, "id");
    const uint32_t longest_edge = static_cast<uint32_t>(Integer(im, "longestEdge", 0));
    const bool tiling = Bool(im, "tiling");
    try {
      out.push_back(projector->MakeImage(w, h, data.Data(), id, longest_edge, tiling));
    } catch (const Error &e) {
      throw ToError(env, e);
    }
  }
  return out;
}

std::vector<ChatMessage> ReadMessages(const Napi::Array &messages) {
  std::vector<ChatMessage> out(messages.Length());
  for (uint32_t i = 0; i < messages.Length(); i++) {
    Napi::Value m = messages.Get(i);
    if (!m.IsObject()) Malformed(messages.Env(), "messages[]", "an object");
    out[i].role = String(m.As<Napi::Object>(), "role");
    out[i].content = String(m.As<Napi::Object>(), "content");
  }
  return out;
}

// ---- what JS receives ----

namespace {

Napi::Number Num(Napi::Env env, double v) { return Napi::Number::New(env, v); }

Napi::Array StringArray(Napi::Env env, const std::vector<std::string> &v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) a.Set(static_cast<uint32_t>(i), v[i]);
  return a;
}

}  // namespace

const char *DeviceType(enum ggml_backend_dev_type type) {
  switch (type) {
    case GGML_BACKEND_DEVICE_TYPE_CPU: return "cpu";
    case GGML_BACKEND_DEVICE_TYPE_GPU: return "gpu";
    case GGML_BACKEND_DEVICE_TYPE_IGPU: return "igpu";
    default: return "accel";
  }
}

Napi::Object ModelInfo(Napi::Env env, const ModelHandle &h) {
  const ModelMeta &m = h.meta;
  const Projector *p = h.projector.get();
  const bool has_vision = p && p->info().has_vision;
  Napi::Object o = Napi::Object::New(env);
  o.Set("architecture", m.architecture);
  o.Set("name", m.name);
  o.Set("description", m.description);
  o.Set("chatTemplate", m.chat_template);
  o.Set("parameters", Num(env, static_cast<double>(m.n_params)));
  o.Set("sizeBytes", Num(env, static_cast<double>(m.size_bytes)));
  o.Set("contextLength", m.n_ctx_train);
  o.Set("embeddingLength", m.n_embd);
  o.Set("layers", m.n_layer);
  o.Set("vocabSize", m.n_vocab);
  o.Set("bosToken", m.bos);
  o.Set("eosToken", m.eos);
  o.Set("mediaMarker", m.marker);
  o.Set("hasVision", has_vision);
  Napi::Array loras = Napi::Array::New(env, h.loras.size());
  for (size_t i = 0; i < h.loras.size(); i++) {
    const LoraAdapter &a = h.loras[i];
    Napi::Object l = Napi::Object::New(env);
    l.Set("id", a.spec.id);
    l.Set("path", a.spec.path);
    l.Set("scale", Num(env, a.spec.scale));
    l.Set("alpha", Num(env, a.file.alpha));
    l.Set("tensors", a.file.tensors);
    l.Set("sizeBytes", Num(env, static_cast<double>(a.file.bytes)));
    loras.Set(static_cast<uint32_t>(i), l);
  }
  o.Set("lora", loras);
  if (has_vision) {
    const ProjectorInfo &pi = p->info();
    Napi::Object v = Napi::Object::New(env);
    v.Set("projectorType", pi.type);
    v.Set("imageSize", pi.image_size);
    v.Set("patchSize", pi.patch_size);
    v.Set("scaleFactor", pi.scale_factor);
    v.Set("tokensPerTile", pi.tokens_per_tile);
    v.Set("longestEdge", p->longest_edge());
    v.Set("resolutionControl", p->resolution_control());
    v.Set("sizeBytes", Num(env, static_cast<double>(pi.size_bytes)));
    o.Set("vision", v);
  }
  return o;
}

Napi::Array DeviceMemory(Napi::Env env, const std::vector<memory::DeviceBytes> &devices) {
  Napi::Array a = Napi::Array::New(env, devices.size());
  for (size_t i = 0; i < devices.size(); i++) {
    const memory::DeviceBytes &d = devices[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("device", d.device);
    o.Set("type", DeviceType(d.type));
    o.Set("model", Num(env, static_cast<double>(d.model)));
    o.Set("context", Num(env, static_cast<double>(d.context)));
    o.Set("compute", Num(env, static_cast<double>(d.compute)));
    o.Set("free", Num(env, static_cast<double>(d.free)));
    o.Set("total", Num(env, static_cast<double>(d.total)));
    a.Set(static_cast<uint32_t>(i), o);
  }
  return a;
}

Napi::Object MemoryReport(Napi::Env env, const memory::Report &r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("devices", DeviceMemory(env, r.devices));
  o.Set("projector", DeviceMemory(env, r.projector));
  o.Set("lora", Num(env, static_cast<double>(r.lora)));
  o.Set("layers", r.layers);
  return o;
}

Napi::Object ImageCacheStats(Napi::Env env, const ImageCache::Stats &s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("hits", Num(env, static_cast<double>(s.hits)));
  o.Set("misses", Num(env, static_cast<double>(s.misses)));
  o.Set("evictions", Num(env, static_cast<double>(s.evictions)));
  o.Set("encodes", Num(env, static_cast<double>(s.encodes)));
  o.Set("bytes", Num(env, static_cast<double>(s.bytes)));
  o.Set("entries", Num(env, static_cast<double>(s.entries)));
  o.Set("maxBytes", Num(env, static_cast<double>(s.max_bytes)));
  return o;
}

Napi::Object BackendInfo(Napi::Env env, const backends::Info &b) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("dir", b.dir);
  o.Set("cpuVariant", b.cpu_variant);
  o.Set("skipped", StringArray(env, b.skipped));
  o.Set("loaded", StringArray(env, b.loaded));
  Napi::Array devices = Napi::Array::New(env);
  for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    size_t free = 0, total = 0;
    ggml_backend_dev_memory(dev, &free, &total);
    Napi::Object d = Napi::Object::New(env);
    d.Set("name", ggml_backend_dev_name(dev));
    d.Set("description", ggml_backend_dev_description(dev));
    d.Set("type", DeviceType(ggml_backend_dev_type(dev)));
    d.Set("memoryFree", Num(env, static_cast<double>(free)));
    d.Set("memoryTotal", Num(env, static_cast<double>(total)));
    devices.Set(devices.Length(), d);
  }
  o.Set("devices", devices);
  o.Set("system", llama_print_system_info());
  return o;
}

Napi::Object EngineInfo(Napi::Env env, const Scheduler &s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("contextSize", s.n_ctx());
  o.Set("parallel", s.options().n_parallel);
  o.Set("batchSize", s.options().n_batch);
  o.Set("memory", MemoryReport(env, s.memory()));
  return o;
}

Napi::Int32Array Tokens(Napi::Env env, const std::vector<llama_token> &tokens) {
  auto arr = Napi::Int32Array::New(env, tokens.size());
  std::copy(tokens.begin(), tokens.end(), arr.Data());
  return arr;
}

Napi::Object TokenCount(Napi::Env env, int64_t total, int64_t image) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("total", Num(env, static_cast<double>(total)));
  o.Set("image", Num(env, static_cast<double>(image)));
  return o;
}

Napi::Object Event(Napi::Env env, const EventBatch &batch) {
  Napi::Object ev = Napi::Object::New(env);
  if (!batch.text.empty()) ev.Set("text", Napi::String::New(env, batch.text));
  if (!batch.tokens.empty()) ev.Set("tokens", Tokens(env, batch.tokens));
  if (!batch.logprobs.empty()) {
    auto arr = Napi::Float32Array::New(env, batch.logprobs.size());
    std::copy(batch.logprobs.begin(), batch.logprobs.end(), arr.Data());
    ev.Set("logprobs", arr);
  }
  if (!batch.final) return ev;
  const Final &f = *batch.final;
  if (!f.error_code.empty()) {
    Napi::Object err = Napi::Object::New(env);
    err.Set("code", f.error_code);
    err.Set("message", f.error_message);
    ev.Set("error", err);
  }
  Napi::Object done = Napi::Object::New(env);
  done.Set("finishReason", f.finish_reason);
  Napi::Object usage = Napi::Object::New(env);
  usage.Set("promptTokens", f.prompt_tokens);
  usage.Set("imageTokens", f.image_tokens);
  usage.Set("cachedTokens", f.cached_tokens);
  usage.Set("completionTokens", f.completion_tokens);
  usage.Set("totalTokens", f.prompt_tokens + f.completion_tokens);
  done.Set("usage", usage);
  Napi::Object t = Napi::Object::New(env);
  t.Set("imageEncodeMs", f.image_encode_ms);
  t.Set("promptEvalMs", f.prompt_eval_ms);
  t.Set("promptTokensPerSecond", f.prompt_eval_ms > 0 ? f.prompt_tokens / (f.prompt_eval_ms / 1000.0) : 0.0);
  t.Set("generationMs", f.generation_ms);
  t.Set("tokensPerSecond", f.generation_ms > 0 && f.completion_tokens > 1 ? (f.completion_tokens - 1) / (f.generation_ms / 1000.0) : 0.0);
  t.Set("timeToFirstTokenMs", f.ttft_ms);
  t.Set("totalMs", f.total_ms);
  done.Set("timings", t);
  ev.Set("done", done);
  return ev;
}

}  // namespace smolvlm::js
