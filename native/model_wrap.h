// Model: the JS object of a loaded model (model.h). Loading, tokenizing and counting run off the
// JS thread; info, templates and cache settings answer at once.
#pragma once
#include <napi.h>

#include <memory>

#include "model.h"

namespace smolvlm {

class Model : public Napi::ObjectWrap<Model> {
 public:
  /** [sync] Defines the class (once per environment). */
  static Napi::Function Init(Napi::Env env);
  /** [async] loadModel(options, onProgress?) -> { promise: Promise<Model>, abort() } */
  static Napi::Value Load(const Napi::CallbackInfo &info);
  /** [sync] Constructed only by Load, with an External holding the loaded handle. */
  explicit Model(const Napi::CallbackInfo &info);

 private:
  /** [sync] info() -> NativeModelInfo */
  Napi::Value Info(const Napi::CallbackInfo &info);
  /** [async] tokenize(text, addSpecial, parseSpecial) -> Promise<Int32Array> (libuv pool: short) */
  Napi::Value Tokenize(const Napi::CallbackInfo &info);
  /** [async] detokenize(Int32Array, special) -> Promise<string> (libuv pool: short) */
  Napi::Value Detokenize(const Napi::CallbackInfo &info);
  /** [sync] applyTemplate([{role, content}], addAssistant, template?) -> string (microseconds) */
  Napi::Value ApplyTemplate(const Napi::CallbackInfo &info);
  /** [async] createEngine(options) -> Promise<Engine> */
  Napi::Value CreateEngine(const Napi::CallbackInfo &info);
  /** [async] countTokens(prompt, images[], addSpecial) -> Promise<{ total, image }> (libuv pool: image preprocessing) */
  Napi::Value CountTokens(const Napi::CallbackInfo &info);
  /**
   * [async] promptTokens(prompt, images[], addSpecial) -> Promise<Int32Array> (libuv pool): the
   * prompt as the engine evaluates it, each image embedding position as -1
   */
  Napi::Value PromptTokens(const Napi::CallbackInfo &info);
  /**
   * [async] compileGrammar(jsonSchema, gbnf) -> Promise<External CompiledGrammar> (libuv pool: a
   * big schema converts in tens of milliseconds): the schema ('' = none) converted to GBNF, or
   * `gbnf`, built into its sampler once, so a bad one is an ERR_INVALID_ARGUMENT before submit.
   */
  Napi::Value CompileGrammar(const Napi::CallbackInfo &info);
  /** [sync] projectorMemory() -> per-device bytes of the projector (weights + compute) */
  Napi::Value ProjectorMemory(const Napi::CallbackInfo &info);
  /** [sync] imageCache() -> { hits, misses, evictions, encodes, bytes, entries, maxBytes } */
  Napi::Value ImageCacheStats(const Napi::CallbackInfo &info);
  /** [sync] configureImageCache(maxBytes | undefined, clear) */
  Napi::Value ConfigureImageCache(const Napi::CallbackInfo &info);
  /** [async] dispose() -> Promise<void>; idempotent */
  Napi::Value Dispose(const Napi::CallbackInfo &info);

  /** [sync] The handle; ERR_DISPOSED once disposed. */
  std::shared_ptr<ModelHandle> Live(Napi::Env env) const;

  std::shared_ptr<ModelHandle> handle_;
  int64_t external_bytes_ = 0;
};

}  // namespace smolvlm
