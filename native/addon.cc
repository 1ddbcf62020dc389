// Module entry: backend loading, logging, and the exported surface (see lib/binding.ts).
#include <napi.h>

#include "addon_data.h"
#include "backends.h"
#include "engine.h"
#include "errors.h"
#include "jobs.h"
#include "llama.h"
#include "log.h"
#include "memory.h"
#include "model.h"
#include "request.h"

namespace smolvlm {
namespace {

/** [sync] backendInfo() -> { dir, cpuVariant, skipped[], loaded[], devices[], system } */
Napi::Value BackendInfo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const backends::Info &b = backends::LoadAll();
  Napi::Object o = Napi::Object::New(env);
  o.Set("dir", b.dir);
  o.Set("cpuVariant", b.cpu_variant);
  auto list = [&](const std::vector<std::string> &v) {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); i++) a.Set(static_cast<uint32_t>(i), v[i]);
    return a;
  };
  o.Set("skipped", list(b.skipped));
  o.Set("loaded", list(b.loaded));
  Napi::Array devices = Napi::Array::New(env);
  for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    size_t free = 0, total = 0;
    ggml_backend_dev_memory(dev, &free, &total);
    Napi::Object d = Napi::Object::New(env);
    d.Set("name", ggml_backend_dev_name(dev));
    d.Set("description", ggml_backend_dev_description(dev));
    const auto type = ggml_backend_dev_type(dev);
    d.Set("type", type == GGML_BACKEND_DEVICE_TYPE_CPU ? "cpu" : type == GGML_BACKEND_DEVICE_TYPE_GPU ? "gpu"
                  : type == GGML_BACKEND_DEVICE_TYPE_IGPU ? "igpu" : "accel");
    d.Set("memoryFree", Napi::Number::New(env, static_cast<double>(free)));
    d.Set("memoryTotal", Napi::Number::New(env, static_cast<double>(total)));
    devices.Set(devices.Length(), d);
  }
  o.Set("devices", devices);
  o.Set("system", llama_print_system_info());
  return o;
}

/** [sync] setLogLevel('debug'|'info'|'warn'|'error'|'none') */
Napi::Value SetLogLevel(const Napi::CallbackInfo &info) {
  if (info.Length() < 1 || !info[0].IsString()) ThrowInvalid(info.Env(), "setLogLevel: level string expected");
  log::SetLevel(log::ParseLevel(info[0].As<Napi::String>().Utf8Value(), log::Level::None));
  return info.Env().Undefined();
}

/**
 * [sync] Internal, for tests: feeds byte pieces (Buffers) through a TextStream with `stops`;
 * returns { chunks: Buffer[] (one per piece, then the flush), stopped: index or -1 }.
 */
Napi::Value TestTextStream(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsArray()) ThrowInvalid(env, "pieces[], stops[] expected");
  Napi::Array pieces = info[0].As<Napi::Array>(), stops_js = info[1].As<Napi::Array>();
  std::vector<std::string> stops;
  for (uint32_t i = 0; i < stops_js.Length(); i++) stops.push_back(stops_js.Get(i).ToString().Utf8Value());
  TextStream stream(stops);
  Napi::Array chunks = Napi::Array::New(env);
  int32_t stopped_at = -1;
  for (uint32_t i = 0; i < pieces.Length() && stopped_at < 0; i++) {
    auto buf = pieces.Get(i).As<Napi::Buffer<char>>();
    bool stopped = false;
    std::string out = stream.Push(std::string(buf.Data(), buf.Length()), stopped);
    chunks.Set(chunks.Length(), Napi::Buffer<char>::Copy(env, out.data(), out.size()));
    if (stopped) stopped_at = static_cast<int32_t>(i);
  }
  if (stopped_at < 0) {
    std::string rest = stream.Flush();
    chunks.Set(chunks.Length(), Napi::Buffer<char>::Copy(env, rest.data(), rest.size()));
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("chunks", chunks);
  o.Set("stopped", stopped_at);
  return o;
}

/**
 * Stops engine threads and running jobs. lib/binding.ts calls it on process 'exit' (which also
 * fires after an uncaught exception, whose exit() skips finalizers): the threads must be gone
 * before static destructors unload ggml under them.
 */
void Shutdown(napi_env env) {
  JoinJobs(env);
  EngineCore::StopAll(env);
}

/** [sync] shutdown(): see Shutdown(). */
Napi::Value ShutdownJs(const Napi::CallbackInfo &info) {
  Shutdown(info.Env());
  return info.Env().Undefined();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  log::Install();
  backends::LoadAll();
  llama_backend_init();
  // A process that exits while a load runs waits for it (it is told to abort) instead of
  // unloading code under a live thread.
  napi_add_env_cleanup_hook(env, [](void *arg) { Shutdown(static_cast<napi_env>(arg)); }, env);
  auto *data = new AddonData();
  Napi::Function model = Model::Init(env), engine = Engine::Init(env);
  data->model_ctor = Napi::Persistent(model);
  data->engine_ctor = Napi::Persistent(engine);
  env.SetInstanceData<AddonData>(data);
  exports.Set("Model", model);
  exports.Set("Engine", engine);
  exports.Set("loadModel", Napi::Function::New(env, Model::Load, "loadModel"));
  exports.Set("estimateMemory", Napi::Function::New(env, memory::Estimate, "estimateMemory"));
  exports.Set("backendInfo", Napi::Function::New(env, BackendInfo, "backendInfo"));
  exports.Set("setLogLevel", Napi::Function::New(env, SetLogLevel, "setLogLevel"));
  exports.Set("shutdown", Napi::Function::New(env, ShutdownJs, "shutdown"));
  exports.Set("_testTextStream", Napi::Function::New(env, TestTextStream, "_testTextStream"));
  exports.Set("mediaMarker", Napi::String::New(env, mtmd_default_marker()));
  return exports;
}

}  // namespace smolvlm

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return smolvlm::Init(env, exports); }
NODE_API_MODULE(smolvlm_addon, InitAddon)
