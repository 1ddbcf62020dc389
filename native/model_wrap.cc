#include "model_wrap.h"

#include "addon_data.h"
#include "chat_template.h"
#include "grammar.h"
#include "engine.h"
#include "jobs.h"
#include "js.h"
#include "prompt.h"
#include "tokens.h"

namespace smolvlm {
namespace {

/** Load progress to JS: steps of at least 1% and the end, never blocking the loader. */
struct ProgressToJs {
  Napi::ThreadSafeFunction tsfn;
  float last = -1.f;

  void Report(float v) {
    if (!(v - last >= 0.01f || (v >= 1.f && last < 1.f))) return;
    last = v;
    auto *boxed = new float(v);
    if (tsfn.NonBlockingCall(boxed, [](Napi::Env env, Napi::Function fn, float *value) {
          std::unique_ptr<float> owned(value);
          if (env != nullptr) fn.Call({Napi::Number::New(env, *value)});
        }) != napi_ok) {
      delete boxed;
    }
  }
};

}  // namespace

Napi::Function Model::Init(Napi::Env env) {
  return DefineClass(env, "Model",
                     {
                         InstanceMethod<&Model::Info>("info"),
                         InstanceMethod<&Model::Tokenize>("tokenize"),
                         InstanceMethod<&Model::Detokenize>("detokenize"),
                         InstanceMethod<&Model::ApplyTemplate>("applyTemplate"),
                         InstanceMethod<&Model::CreateEngine>("createEngine"),
                         InstanceMethod<&Model::CountTokens>("countTokens"),
                         InstanceMethod<&Model::PromptTokens>("promptTokens"),
                         InstanceMethod<&Model::CompileGrammar>("compileGrammar"),
                         InstanceMethod<&Model::ImageCacheStats>("imageCache"),
                         InstanceMethod<&Model::ProjectorMemory>("projectorMemory"),
                         InstanceMethod<&Model::ConfigureImageCache>("configureImageCache"),
                         InstanceMethod<&Model::Dispose>("dispose"),
                     });
}

Model::Model(const Napi::CallbackInfo &info)
    : Napi::ObjectWrap<Model>(info), handle_(js::Unwrap<ModelHandle>(info, "Model cannot be constructed directly; use loadModel()")) {
  // Weights are mmapped or on a device, but V8 should still know a model is heavy.
  const uint64_t projector_bytes = handle_->projector ? handle_->projector->info().size_bytes : 0;
  external_bytes_ = static_cast<int64_t>(handle_->meta.size_bytes + projector_bytes);
  Napi::MemoryManagement::AdjustExternalMemory(info.Env(), external_bytes_);
}

Napi::Value Model::Load(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) js::ThrowInvalid(env, "loadModel: options object expected");
  const LoadOptions opt = js::ReadLoadOptions(info[0].As<Napi::Object>());

  auto abort = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<ProgressToJs> to_js;
  if (info.Length() > 1 && info[1].IsFunction()) {
    to_js = std::make_shared<ProgressToJs>();
    to_js->tsfn = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "smolvlm:progress", 0, 1);
  }
  auto result = std::make_shared<std::shared_ptr<ModelHandle>>();
  Napi::Promise promise = RunOffThread(
      env, "smolvlm:load",
      [opt, abort, to_js, result]() {
        struct Release {
          ProgressToJs *p;
          ~Release() { if (p) p->tsfn.Release(); }
        } release{to_js.get()};
        LoadProgress progress{to_js ? std::function<void(float)>([&](float v) { to_js->Report(v); }) : nullptr, abort};
        *result = LoadModel(opt, progress);
      },
      [result](Napi::Env env) -> Napi::Value { return js::Wrap(env, env.GetInstanceData<AddonData>()->model_ctor, result.get()); },
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
  if (!handle_) throw js::ToError(env, code::DISPOSED, "model is disposed");
  return handle_;
}

Napi::Value Model::Info(const Napi::CallbackInfo &info) { return js::ModelInfo(info.Env(), *Live(info.Env())); }

Napi::Value Model::Tokenize(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto h = Live(env);
  if (info.Length() < 1 || !info[0].IsString()) js::ThrowInvalid(env, "tokenize: text must be a string");
  const bool add_special = js::BoolArg(info, 1, "addSpecial"), parse_special = js::BoolArg(info, 2, "parseSpecial");
  auto text = std::make_shared<std::string>(info[0].As<Napi::String>().Utf8Value());
  auto tokens = std::make_shared<std::vector<llama_token>>();
  return RunOnPool(
      env, "smolvlm:tokenize", [h, text, add_special, parse_special, tokens] { *tokens = smolvlm::Tokenize(h->vocab(), *text, add_special, parse_special); },
      [tokens](Napi::Env env) -> Napi::Value { return js::Tokens(env, *tokens); });
}

Napi::Value Model::Detokenize(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto h = Live(env);
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    js::ThrowInvalid(env, "detokenize: tokens must be an Int32Array");
  }
  auto arr = info[0].As<Napi::Int32Array>();
  auto tokens = std::make_shared<std::vector<llama_token>>(arr.Data(), arr.Data() + arr.ElementLength());
  // ids outside the vocabulary would index out of llama.cpp's tables
  const int32_t n_vocab = h->meta.n_vocab;
  for (llama_token t : *tokens)
    if (t < 0 || t >= n_vocab) js::ThrowInvalid(env, "detokenize: token id " + std::to_string(t) + " is out of range [0, " + std::to_string(n_vocab) + ")");
  const bool special = js::BoolArg(info, 1, "special");
  auto text = std::make_shared<std::string>();
  return RunOnPool(
      env, "smolvlm:detokenize", [h, tokens, special, text] { *text = smolvlm::Detokenize(h->vocab(), *tokens, special); },
      [text](Napi::Env env) -> Napi::Value { return Napi::String::New(env, *text); });
}

Napi::Value Model::CountTokens(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto h = Live(env);
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray()) js::ThrowInvalid(env, "countTokens(prompt, images) expected");
  auto images = std::make_shared<std::vector<Image>>(js::ReadImages(env, h->projector.get(), info[1].As<Napi::Array>()));
  const bool add_special = js::BoolArg(info, 2, "addSpecial");
  auto prompt = std::make_shared<std::string>(info[0].As<Napi::String>().Utf8Value());
  auto counts = std::make_shared<std::pair<int64_t, int64_t>>();
  return RunOnPool(
      env, "smolvlm:countTokens",
      [h, prompt, images, add_special, counts] {
        const Prompt p = TokenizePrompt(h->vocab(), h->projector.get(), *prompt, add_special, true, *images);
        *counts = {p.n_tokens, p.n_image_tokens};
      },
      [counts](Napi::Env env) -> Napi::Value { return js::TokenCount(env, counts->first, counts->second); });
}

Napi::Value Model::PromptTokens(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto h = Live(env);
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray()) js::ThrowInvalid(env, "promptTokens(prompt, images) expected");
  auto images = std::make_shared<std::vector<Image>>(js::ReadImages(env, h->projector.get(), info[1].As<Napi::Array>()));
  const bool add_special = js::BoolArg(info, 2, "addSpecial");
  auto prompt = std::make_shared<std::string>(info[0].As<Napi::String>().Utf8Value());
  auto tokens = std::make_shared<std::vector<llama_token>>();
  return RunOnPool(
      env, "smolvlm:promptTokens",
      [h, prompt, images, add_special, tokens] {
        *tokens = FlatTokens(TokenizePrompt(h->vocab(), h->projector.get(), *prompt, add_special, true, *images));
      },
      [tokens](Napi::Env env) -> Napi::Value { return js::Tokens(env, *tokens); });
}

Napi::Value Model::CompileGrammar(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto h = Live(env);
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) js::ThrowInvalid(env, "compileGrammar(jsonSchema, gbnf) expected");
  auto schema = std::make_shared<std::string>(info[0].As<Napi::String>().Utf8Value());
  auto gbnf = std::make_shared<std::string>(info[1].As<Napi::String>().Utf8Value());
  auto out = std::make_shared<CompiledGrammar>();
  return RunOnPool(
      env, "smolvlm:compileGrammar",
      [h, schema, gbnf, out] {
        out->vocab = h->vocab();
        out->sampler = MakeGrammar(out->vocab, schema->empty() ? *gbnf : SchemaToGrammar(*schema));
        if (!out->sampler) throw Error(code::INVALID_ARGUMENT, "empty grammar");
      },
      [out](Napi::Env env) -> Napi::Value {
        return Napi::External<CompiledGrammar>::New(env, new CompiledGrammar(std::move(*out)), [](Napi::Env, CompiledGrammar *g) { delete g; });
      });
}

Napi::Value Model::ApplyTemplate(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto h = Live(env);
  if (info.Length() < 1 || !info[0].IsArray()) js::ThrowInvalid(env, "applyTemplate: messages array expected");
  const std::vector<ChatMessage> messages = js::ReadMessages(info[0].As<Napi::Array>());
  const bool add_assistant = js::BoolArg(info, 1, "addAssistant");
  // a template given by the caller, else the model's own
  const std::string tmpl = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : h->meta.chat_template;
  try {
    return Napi::String::New(env, ApplyChatTemplate(tmpl, messages, add_assistant));
  } catch (const Error &e) {
    throw js::ToError(env, e);
  }
}

Napi::Value Model::CreateEngine(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto h = Live(env);
  if (info.Length() < 1 || !info[0].IsObject()) js::ThrowInvalid(env, "createEngine: options object expected");
  return Engine::Create(env, h, info[0].As<Napi::Object>());
}

Napi::Value Model::ImageCacheStats(const Napi::CallbackInfo &info) {
  return js::ImageCacheStats(info.Env(), Live(info.Env())->image_cache.stats());
}

Napi::Value Model::ProjectorMemory(const Napi::CallbackInfo &info) {
  const auto h = Live(info.Env());
  return js::DeviceMemory(info.Env(), h->projector ? h->projector->memory() : std::vector<memory::DeviceBytes>{});
}

Napi::Value Model::ConfigureImageCache(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto h = Live(env);
  // maxBytes undefined: keep the size
  if (info.Length() > 0 && info[0].IsNumber()) h->image_cache.SetMaxBytes(static_cast<size_t>(info[0].As<Napi::Number>().DoubleValue()));
  if (js::BoolArg(info, 1, "clear")) h->image_cache.Clear();
  return env.Undefined();
}

Napi::Value Model::Dispose(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  // Freeing device buffers can take a while: drop our reference off the JS thread. Engines still
  // alive hold their own reference; the JS layer disposes them first.
  auto box = std::make_shared<std::shared_ptr<ModelHandle>>(std::move(handle_));
  handle_.reset();
  if (external_bytes_) Napi::MemoryManagement::AdjustExternalMemory(env, -external_bytes_);
  external_bytes_ = 0;
  return RunOffThread(env, "smolvlm:dispose", [box] { box->reset(); }, [](Napi::Env e) { return e.Undefined(); });
}

}  // namespace smolvlm
