// Every read of a JS value (js.h): errors, strict readers, what JS sends. What JS receives is built
// in js_objects.cc.
#include "js.h"

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

}  // namespace smolvlm::js
