// What JS asked for, as plain values, and the llama.cpp / mtmd parameters built from them. JS sends
// every field (lib/binding.ts NativeLoadOptions, NativeEngineOptions; js.cc reads them): the
// zero initialisers below are never used as defaults.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "llama.h"
#include "mtmd.h"

namespace smolvlm {

/** A LoRA adapter to load with the model (lib/binding.ts NativeLoraOptions). */
struct LoraSpec {
  std::string path;
  std::string id;     // unique within the model
  float scale = 0.f;  // applied to requests that name no adapters
};

struct LoadOptions {
  std::string model_path;
  std::string mmproj_path;  // empty: text only
  int32_t gpu_layers = 0;   // -1 = all
  int32_t use_mmap = 0;     // -1: llama.cpp decides (mmap where every device supports it), 0 read, 1 mmap
  bool use_mlock = false;
  bool mmproj_gpu = false;
  bool use_gpu = false;     // false: no GPU device at all (no compute buffers there either)
  int32_t threads = 0;      // projector threads (>= 1)
  int32_t image_min_tokens = 0;  // -1: the projector's own
  int32_t image_max_tokens = 0;  // -1: the projector's own
  int32_t flash_attn = 0;   // llama_flash_attn_type: -1 auto, 0 off, 1 on
  bool warmup = false;
  double image_cache_bytes = 0;
  std::vector<LoraSpec> lora;  // loaded after the model, in this order
  std::vector<std::string> rpc;  // "host:port" of rpc-servers whose devices take the offloaded layers
  int32_t rpc_timeout_ms = 0;    // bound of each endpoint's TCP connect
};

struct EngineOptions {
  uint32_t n_ctx = 0;
  uint32_t n_batch = 0;
  uint32_t n_ubatch = 0;
  uint32_t n_parallel = 0;  // >= 1
  int32_t n_threads = 0;    // >= 1
  int32_t n_threads_batch = 0;  // >= 1
  int32_t flash_attn = 0;   // llama_flash_attn_type
  int32_t type_k = 0;       // ggml_type of the KV cache
  int32_t type_v = 0;
  bool prompt_cache = false;  // slots keep their KV cache; requests reuse the longest common prefix
};

/**
 * [sync] The model parameters of a load (or of its dry run). `remote`: the rpc-servers' devices
 * (rpc.h), first in the device list, then the local GPUs unless use_gpu is false; the CPU takes
 * the rest as always. `devices` is the storage of the list (it must outlive the load).
 */
llama_model_params ModelParams(const LoadOptions &opt, const std::vector<ggml_backend_dev_t> &remote = {},
                               std::vector<ggml_backend_dev_t> *devices = nullptr);
/** [sync] The projector parameters of a load (or of its dry run). */
mtmd_context_params ProjectorParams(const LoadOptions &opt);
/** [sync] The context parameters of an engine (or of its dry run). */
llama_context_params ContextParams(const EngineOptions &opt);

}  // namespace smolvlm
