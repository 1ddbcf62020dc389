// Memory accounting from llama.cpp's own buffers: the live breakdown of a context, and the
// allocation-free dry run (no_alloc) that estimates a load before anything is allocated.
#pragma once
#include <string>
#include <vector>

#include "llama.h"
#include "mtmd.h"
#include "options.h"

namespace smolvlm::memory {

struct DeviceBytes {
  std::string device;  // ggml device name; "CPU" for host memory
  enum ggml_backend_dev_type type = GGML_BACKEND_DEVICE_TYPE_CPU;
  size_t model = 0, context = 0, compute = 0;  // weights, KV cache, compute buffers
  size_t free = 0, total = 0;                  // the device's memory now
};

struct Report {
  std::vector<DeviceBytes> devices;    // the model's devices, then the host
  std::vector<DeviceBytes> projector;  // `model` holds weights + compute (mtmd reports them merged)
  size_t lora = 0;                     // LoRA adapters' A/B tensors (on the devices of the weights they adapt)
  int32_t layers = 0;                  // repeating layers of the model (gpu layers count these + the output layer)
};

/** [any thread] Per-device buffers of a context (weights, KV, compute). */
Report Breakdown(const llama_context *ctx, const llama_model *model);
/** [blocking] The projector's weights + compute buffers per device, by mtmd's dry run. */
std::vector<DeviceBytes> Projector(const std::string &mmproj_path, mtmd_context_params params);
/**
 * [blocking] What loading `load` and creating an engine with `engine` would allocate, from
 * llama.cpp's and mtmd's dry runs; allocates nothing. Throws Error (file checks, ERR_MODEL_INVALID,
 * ERR_OUT_OF_MEMORY).
 */
Report Estimate(const LoadOptions &load, const EngineOptions &engine);

}  // namespace smolvlm::memory
