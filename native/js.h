// Every read of a JS value and every JS object built, in one place: the addon's boundary
// (lib/binding.ts) seen from C++. JS sends every field (no defaults live in C++); a field that is
// missing or of the wrong type is our bug, an ERR_INTERNAL error naming it. Errors users can
// cause keep their own codes. All functions here run on the JS thread ([sync]). The reads are in
// js.cc, the objects built in js_objects.cc.
#pragma once
#include <napi.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "backends.h"
#include "chat_template.h"
#include "errors.h"
#include "events.h"
#include "image_cache.h"
#include "memory.h"
#include "model.h"
#include "options.h"
#include "projector.h"
#include "request.h"
#include "scheduler.h"

namespace smolvlm::js {

// ---- errors ----

/** [sync] A JS Error with `code`. */
Napi::Error ToError(Napi::Env env, const std::string &code, const std::string &message);
Napi::Error ToError(Napi::Env env, const Error &e);
/** [sync] Throws an ERR_INVALID_ARGUMENT JS error. */
[[noreturn]] void ThrowInvalid(Napi::Env env, const std::string &message);

// ---- strict readers: `key` must be present with the type (and in the range) ----

std::string String(const Napi::Object &o, const char *key);
bool Bool(const Napi::Object &o, const char *key);
double Number(const Napi::Object &o, const char *key, double min = -std::numeric_limits<double>::infinity());
/** An integral number in [min, max]. */
int64_t Integer(const Napi::Object &o, const char *key, int64_t min = INT32_MIN, int64_t max = INT32_MAX);
std::vector<std::string> Strings(const Napi::Object &o, const char *key);
/** Argument `index` (named `name` in the error), a boolean. */
bool BoolArg(const Napi::CallbackInfo &info, size_t index, const char *name);

// ---- what JS sends ----

/** [sync] NativeLoadOptions. */
LoadOptions ReadLoadOptions(const Napi::Object &o);
/** [sync] NativeEngineOptions. */
EngineOptions ReadEngineOptions(const Napi::Object &o);
/** [sync] NativeGenerateParams. */
RequestParams ReadGenerateParams(const Napi::Object &o);
/**
 * [sync] NativeImage[]: copies the pixels (JS may reuse its buffers) and applies the projector's
 * checks (projector.h MakeImage). Throws JS errors: ERR_NO_VISION (no projector), ERR_IMAGE_INVALID,
 * ERR_INVALID_ARGUMENT.
 */
std::vector<Image> ReadImages(Napi::Env env, const Projector *projector, const Napi::Array &images);
/** [sync] [{ role, content }] for applyTemplate. */
std::vector<ChatMessage> ReadMessages(const Napi::Array &messages);

// ---- what JS receives ----

/** cpu | gpu | igpu | accel */
const char *DeviceType(enum ggml_backend_dev_type type);
/** [sync] NativeModelInfo. */
Napi::Object ModelInfo(Napi::Env env, const ModelHandle &model);
/** [sync] NativeMemoryReport. */
Napi::Object MemoryReport(Napi::Env env, const memory::Report &report);
/** [sync] NativeDeviceMemory[]. */
Napi::Array DeviceMemory(Napi::Env env, const std::vector<memory::DeviceBytes> &devices);
/** [sync] ImageCacheStats. */
Napi::Object ImageCacheStats(Napi::Env env, const ImageCache::Stats &stats);
/** [sync] BackendInfo, with every ggml device's memory now. */
Napi::Object BackendInfo(Napi::Env env, const backends::Info &info);
/** [sync] NativeEngine.info(): { contextSize, parallel, batchSize, memory }. */
Napi::Object EngineInfo(Napi::Env env, const Scheduler &scheduler);
/** [sync] Token ids as an Int32Array. */
Napi::Int32Array Tokens(Napi::Env env, const std::vector<llama_token> &tokens);
/** [sync] countTokens()'s { total, image }. */
Napi::Object TokenCount(Napi::Env env, int64_t total, int64_t image);
/** [sync] NativeEvent: the deltas merged into one delivery, and the end. */
Napi::Object Event(Napi::Env env, const EventBatch &batch);

// ---- the JS objects of native handles (Model, Engine): made only by jobs, never by `new` ----

/** [sync] A new `ctor` object sharing `*handle`. */
template <class T>
Napi::Object Wrap(Napi::Env env, const Napi::FunctionReference &ctor, std::shared_ptr<T> *handle) {
  return ctor.New({Napi::External<std::shared_ptr<T>>::New(env, handle)});
}

/** [sync] In the constructor: the handle Wrap passed; `new` from JS is refused with `message`. */
template <class T>
std::shared_ptr<T> Unwrap(const Napi::CallbackInfo &info, const char *message) {
  if (info.Length() < 1 || !info[0].IsExternal()) ThrowInvalid(info.Env(), message);
  return *info[0].As<Napi::External<std::shared_ptr<T>>>().Data();
}

}  // namespace smolvlm::js
