#include "engine.h"

#include "addon_data.h"
#include "emitter.h"
#include "grammar.h"
#include "jobs.h"
#include "js.h"

namespace smolvlm {

Napi::Function Engine::Init(Napi::Env env) {
  return DefineClass(env, "Engine",
                     {
                         InstanceMethod<&Engine::Generate>("generate"),
                         InstanceMethod<&Engine::Abort>("abort"),
                         InstanceMethod<&Engine::Info>("info"),
                         InstanceMethod<&Engine::Dispose>("dispose"),
                     });
}

Engine::Engine(const Napi::CallbackInfo &info)
    : Napi::ObjectWrap<Engine>(info), scheduler_(js::Unwrap<Scheduler>(info, "Engine cannot be constructed directly")) {
  // V8's heuristics should know how heavy this small JS object is.
  for (const auto &d : scheduler_->memory().devices) external_bytes_ += static_cast<int64_t>(d.context + d.compute);
  Napi::MemoryManagement::AdjustExternalMemory(info.Env(), external_bytes_);
}

Napi::Value Engine::Create(Napi::Env env, std::shared_ptr<ModelHandle> model, Napi::Object o) {
  const EngineOptions opt = js::ReadEngineOptions(o);
  auto scheduler = std::make_shared<std::shared_ptr<Scheduler>>();
  const void *owner = static_cast<napi_env>(env);
  return RunOffThread(
      env, "smolvlm:context",
      [scheduler, model, opt, owner] {
        *scheduler = std::make_shared<Scheduler>(model, opt, owner);
        (*scheduler)->Start();
      },
      [scheduler](Napi::Env env) -> Napi::Value { return js::Wrap(env, env.GetInstanceData<AddonData>()->engine_ctor, scheduler.get()); });
}

Napi::Value Engine::Generate(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!scheduler_) throw js::ToError(env, code::DISPOSED, "engine is disposed");
  if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsArray() || !info[2].IsFunction()) {
    js::ThrowInvalid(env, "generate(params, images, onEvent, grammar | null) expected");
  }
  auto req = std::make_shared<Request>();
  req->t_submit = Clock::now();
  req->params = js::ReadGenerateParams(info[0].As<Napi::Object>());
  const size_t n_lora = scheduler_->model()->loras.size();
  for (const auto &[index, scale] : req->params.lora) {
    if (static_cast<size_t>(index) >= n_lora) throw js::ToError(env, code::INTERNAL, "LoRA index " + std::to_string(index) + " out of range");
  }
  req->stream = TextStream(req->params.stop);
  if (info.Length() > 3 && info[3].IsExternal()) {  // Model.compileGrammar's, used up here
    CompiledGrammar *g = info[3].As<Napi::External<CompiledGrammar>>().Data();
    if (!g->sampler) js::ThrowInvalid(env, "this compiled grammar was already used by another request");
    if (g->vocab != scheduler_->model()->vocab()) js::ThrowInvalid(env, "this grammar was compiled for another model");
    req->grammar = std::move(g->sampler);
  } else if (info.Length() < 4 || !info[3].IsNull()) {
    js::ThrowInvalid(env, "generate(params, images, onEvent, grammar | null) expected");
  }
  req->images = js::ReadImages(env, scheduler_->model()->projector.get(), info[1].As<Napi::Array>());
  req->id = next_id_++;
  req->events = Emitter::New(env, info[2].As<Napi::Function>(), req->params.stream);
  scheduler_->Submit(req);
  return Napi::Number::New(env, static_cast<double>(req->id));
}

Napi::Value Engine::Abort(const Napi::CallbackInfo &info) {
  if (!scheduler_ || info.Length() < 1 || !info[0].IsNumber()) return Napi::Boolean::New(info.Env(), false);
  return Napi::Boolean::New(info.Env(), scheduler_->Abort(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value())));
}

Napi::Value Engine::Info(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!scheduler_) throw js::ToError(env, code::DISPOSED, "engine is disposed");
  return js::EngineInfo(env, *scheduler_);
}

Napi::Value Engine::Dispose(const Napi::CallbackInfo &info) {
  if (external_bytes_) Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -external_bytes_);
  external_bytes_ = 0;
  auto scheduler = std::make_shared<std::shared_ptr<Scheduler>>(std::move(scheduler_));
  scheduler_.reset();
  return RunOffThread(
      info.Env(), "smolvlm:dispose",
      [scheduler] {
        if (*scheduler) (*scheduler)->Stop();
        scheduler->reset();
      },
      [](Napi::Env env) { return env.Undefined(); });
}

void StopEngines(napi_env env) { Scheduler::StopAll(env); }

}  // namespace smolvlm
