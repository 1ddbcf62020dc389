// Module entry: backend loading, logging, and the exported surface (see lib/binding.ts).
#include <napi.h>

#include "addon_data.h"
#include "backends.h"
#include "engine.h"
#include "jobs.h"
#include "js.h"
#include "llama.h"
#include "log.h"
#include "memory.h"
#include "model_wrap.h"

namespace smolvlm {
namespace {

/** [sync] backendInfo() -> { dir, cpuVariant, skipped[], loaded[], devices[], system } */
Napi::Value BackendInfo(const Napi::CallbackInfo &info) { return js::BackendInfo(info.Env(), backends::LoadAll()); }

/** [sync] setLogLevel('debug'|'info'|'warn'|'error'|'none') */
Napi::Value SetLogLevel(const Napi::CallbackInfo &info) {
  if (info.Length() < 1 || !info[0].IsString()) js::ThrowInvalid(info.Env(), "setLogLevel: level string expected");
  log::SetLevel(log::ParseLevel(info[0].As<Napi::String>().Utf8Value(), log::Level::None));
  return info.Env().Undefined();
}

/** [async] estimateMemory(loadOptions, engineOptions) -> Promise<NativeMemoryReport>; allocates nothing. */
Napi::Value EstimateMemory(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsObject()) js::ThrowInvalid(env, "estimateMemory(loadOptions, engineOptions) expected");
  const LoadOptions load = js::ReadLoadOptions(info[0].As<Napi::Object>());
  const EngineOptions engine = js::ReadEngineOptions(info[1].As<Napi::Object>());
  auto report = std::make_shared<memory::Report>();
  return RunOffThread(
      env, "smolvlm:estimate", [load, engine, report] { *report = memory::Estimate(load, engine); },
      [report](Napi::Env env) -> Napi::Value { return js::MemoryReport(env, *report); });
}

/**
 * [blocking] Stops engine threads and running jobs. lib/binding.ts calls it on process 'exit'
 * (which also fires after an uncaught exception, whose exit() skips finalizers): the threads must
 * be gone before static destructors unload ggml under them.
 */
void Shutdown(napi_env env) {
  JoinJobs(env);
  StopEngines(env);
}

/** [blocking] shutdown(): see Shutdown(). */
Napi::Value ShutdownJs(const Napi::CallbackInfo &info) {
  Shutdown(info.Env());
  return info.Env().Undefined();
}

}  // namespace

/** [sync] Module initialisation, once per environment (main thread, each worker). */
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
  exports.Set("estimateMemory", Napi::Function::New(env, EstimateMemory, "estimateMemory"));
  exports.Set("backendInfo", Napi::Function::New(env, BackendInfo, "backendInfo"));
  exports.Set("setLogLevel", Napi::Function::New(env, SetLogLevel, "setLogLevel"));
  exports.Set("shutdown", Napi::Function::New(env, ShutdownJs, "shutdown"));
  exports.Set("mediaMarker", Napi::String::New(env, mtmd_default_marker()));
  return exports;
}

}  // namespace smolvlm

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return smolvlm::Init(env, exports); }
NODE_API_MODULE(smolvlm_addon, InitAddon)
