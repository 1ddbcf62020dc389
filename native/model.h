// Model: a llama_model plus its projector (mtmd_context), loaded and freed off the JS thread.
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "image_cache.h"
#include "memory.h"
#include "llama.h"
#include "mtmd.h"

struct clip_ctx;

namespace smolvlm {

/** What JS asked for; copied from JS values on the JS thread (no Napi:: on workers). */
struct LoadOptions {
  std::string model_path;
  std::string mmproj_path;  // empty: text only
  int gpu_layers = 0;       // -1 = all
  int use_mmap = -1;        // -1 auto (llama.cpp decides), 0 read, 1 mmap
  bool use_mlock = false;
  bool mmproj_gpu = true;
  bool use_gpu = true;      // false: no GPU device at all (no compute buffers there either)
  int threads = 0;          // projector threads (0 = hardware concurrency)
  int image_min_tokens = -1;
  int image_max_tokens = -1;
  int flash_attn = -1;      // llama_flash_attn_type
  bool warmup = true;
  double image_cache_bytes = 32.0 * 1024 * 1024;
};

/** [blocking] Checks both files before llama.cpp sees them (its asserts would end the process). */
void ValidateModelFiles(const LoadOptions &opt);
llama_model_params ModelParams(const LoadOptions &opt);
mtmd_context_params ProjectorParams(const LoadOptions &opt);
/** [JS thread] Load options from the JS object (see lib/binding.ts NativeLoadOptions). */
LoadOptions ReadLoadOptions(const Napi::Object &o);

/** Metadata read once at load. */
struct ModelMeta {
  std::string architecture, name, description, chat_template;
  uint64_t n_params = 0, size_bytes = 0, mmproj_size_bytes = 0;
  int32_t n_ctx_train = 0, n_embd = 0, n_layer = 0, n_vocab = 0;
  llama_token bos = -1, eos = -1;
  bool has_vision = false;
  std::string projector_type;
  uint32_t image_size = 0, patch_size = 0, scale_factor = 0, tokens_per_tile = 0;
  uint32_t preproc_longest_edge = 0;  // images are resized so their longest side is this
  std::string marker;
};

/** Native state shared by the JS Model object and every engine made from it. */
struct ModelHandle {
  llama_model *model = nullptr;
  mtmd_context *mtmd = nullptr;
  ModelMeta meta;
  // One mtmd context per model: encodes are serialised, and the encoding request's abort flag
  // is published here for the graph callback (abort inside a long image encode).
  std::mutex encode_mu;
  std::atomic<const std::atomic<bool> *> encode_abort{nullptr};
  std::atomic<uint32_t> eval_nodes{0};
  // The projector's vision context, when it is SmolVLM's (idefics3): per-image resolution settings
  // change its preprocessing parameters for one tokenize call, under `preprocess_mu` (prompt.cc).
  clip_ctx *clip = nullptr;
  std::shared_mutex preprocess_mu;  // shared: default settings; exclusive: while they are changed
  uint32_t default_longest_edge = 0;  // what images are scaled to when a request sets nothing
  bool pixel_limits = false;          // imageMin/MaxTokens set at load: mtmd sizes images by pixel count
  ImageCache image_cache{0};
  std::vector<memory::DeviceBytes> projector_memory;
  ~ModelHandle();
  const llama_vocab *vocab() const { return llama_model_get_vocab(model); }
  /**
   * Throws ERR_IMAGE_INVALID for an image the projector's preprocessing cannot take: mtmd scales
   * the longest side to `longest_edge` (0: the default), and a short side that rounds to 0 pixels
   * ends in an assert (process abort) inside llama.cpp.
   */
  void CheckImageShape(uint32_t width, uint32_t height, uint32_t longest_edge = 0) const;
};

class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Function Init(Napi::Env env);
  /** [async] load(options, onProgress?, abortFlagHolder?) -> Promise<Model> */
  static Napi::Value Load(const Napi::CallbackInfo &info);

  explicit Model(const Napi::CallbackInfo &info);
  std::shared_ptr<ModelHandle> handle() const { return handle_; }

 private:
  /** [sync] info() -> metadata object */
  Napi::Value Info(const Napi::CallbackInfo &info);
  /** [async] tokenize(text, addSpecial, parseSpecial) -> Promise<Int32Array> (libuv pool: short) */
  Napi::Value Tokenize(const Napi::CallbackInfo &info);
  /** [async] detokenize(Int32Array, special) -> Promise<string> */
  Napi::Value Detokenize(const Napi::CallbackInfo &info);
  /** [sync] applyTemplate([{role, content}], addAssistant) -> string (microseconds) */
  Napi::Value ApplyTemplate(const Napi::CallbackInfo &info);
  /** [async] createEngine(options) -> Promise<Engine> */
  Napi::Value CreateEngine(const Napi::CallbackInfo &info);
  /** [async] countTokens(prompt, images[]) -> Promise<{ total, image }> (libuv pool: image preprocessing) */
  Napi::Value CountTokens(const Napi::CallbackInfo &info);
  /** [sync] projectorMemory() -> per-device bytes of the projector (weights + compute) */
  Napi::Value ProjectorMemory(const Napi::CallbackInfo &info);
  /** [sync] imageCache() -> { hits, misses, evictions, encodes, bytes, entries, maxBytes } */
  Napi::Value ImageCacheStats(const Napi::CallbackInfo &info);
  /** [sync] configureImageCache(maxBytes, clear) */
  Napi::Value ConfigureImageCache(const Napi::CallbackInfo &info);
  /** [async] dispose() -> Promise<void>; idempotent */
  Napi::Value Dispose(const Napi::CallbackInfo &info);

  std::shared_ptr<ModelHandle> Live(Napi::Env env) const;

  std::shared_ptr<ModelHandle> handle_;
  int64_t external_bytes_ = 0;
};

}  // namespace smolvlm
