// A loaded model: the llama_model, its metadata and its projector (none: text only), shared by the
// JS Model object and every engine made from it. Loaded off the JS thread (model_wrap.cc).
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "image_cache.h"
#include "llama.h"
#include "lora.h"
#include "options.h"
#include "projector.h"

namespace smolvlm {

/** Metadata read once at load. */
struct ModelMeta {
  std::string architecture, name, description, chat_template;
  uint64_t n_params = 0, size_bytes = 0;
  int32_t n_ctx_train = 0, n_embd = 0, n_layer = 0, n_vocab = 0;
  llama_token bos = -1, eos = -1;
  std::string marker;
};

struct ModelHandle {
  llama_model *model = nullptr;
  ModelMeta meta;
  std::unique_ptr<Projector> projector;  // null: text only
  // Encoded image tiles, shared by the model's engines. The model's (not the projector's) so that
  // imageCache()/configureImageCache() answer alike for every model.
  ImageCache image_cache{0};
  std::vector<LoraAdapter> loras;  // loaded with the model, in the order asked; freed with it
  std::vector<std::string> rpc;    // the rpc-servers holding some of its layers (rpc.h)
  ~ModelHandle();  // [blocking] frees device buffers: dropped off the JS thread (Model::Dispose)
  const llama_vocab *vocab() const { return llama_model_get_vocab(model); }
};

/** How a load reports progress and learns it was aborted; `report` runs on the loading thread. */
struct LoadProgress {
  std::function<void(float)> report;  // 0..1 over the model then the projector, by file size
  std::shared_ptr<std::atomic<bool>> abort;
};

/**
 * [blocking] Checks the files, loads the model, its LoRA adapters and its projector, reads the metadata. Throws
 * Error: the file checks' codes (gguf_check.h), ERR_MODEL_INVALID (also for a bad LoRA adapter), ERR_PROJECTOR_MISMATCH,
 * ERR_ABORTED, ERR_RPC_UNAVAILABLE (an rpc-server cannot be reached, or is lost during the load).
 */
std::shared_ptr<ModelHandle> LoadModel(const LoadOptions &opt, LoadProgress &progress);

}  // namespace smolvlm
