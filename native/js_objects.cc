// Every JS object built (js.h, "what JS receives"): model info, memory reports, backend info,
// engine info, token arrays and the events a request delivers. Reads of JS values are in js.cc.
#include "js.h"

#include <algorithm>

namespace smolvlm::js {

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
