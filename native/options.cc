#include "options.h"

#include <algorithm>

namespace smolvlm {

llama_model_params ModelParams(const LoadOptions &opt, const std::vector<ggml_backend_dev_t> &remote,
                               std::vector<ggml_backend_dev_t> *devices) {
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = opt.gpu_layers;
  if (!remote.empty() && devices) {
    // llama.cpp's own order (llama_prepare_model_devices): RPC servers first, then the discrete
    // GPUs, else the integrated ones
    *devices = remote;
    if (opt.use_gpu) {
      std::vector<ggml_backend_dev_t> gpus, igpus;
      for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
        ggml_backend_dev_t d = ggml_backend_dev_get(i);
        if (ggml_backend_dev_type(d) == GGML_BACKEND_DEVICE_TYPE_GPU) gpus.push_back(d);
        if (ggml_backend_dev_type(d) == GGML_BACKEND_DEVICE_TYPE_IGPU) igpus.push_back(d);
      }
      const auto &local = gpus.empty() ? igpus : gpus;
      devices->insert(devices->end(), local.begin(), local.end());
    }
    devices->push_back(nullptr);
    mp.devices = devices->data();
  } else if (!opt.use_gpu) {
    // No devices at all: with only n_gpu_layers = 0, llama.cpp still reserves compute buffers on
    // the GPU to offload large matrix products.
    static ggml_backend_dev_t no_devices[] = {nullptr};
    mp.devices = no_devices;
  }
  if (opt.use_mmap < 0 && !opt.use_mlock) {
    mp.load_mode = LLAMA_LOAD_MODE_AUTO;
  } else if (opt.use_mmap != 0) {
    mp.load_mode = opt.use_mlock ? LLAMA_LOAD_MODE_MMAP_MLOCK : LLAMA_LOAD_MODE_MMAP;
  } else {
    mp.load_mode = opt.use_mlock ? LLAMA_LOAD_MODE_MLOCK : LLAMA_LOAD_MODE_NONE;
  }
  return mp;
}

mtmd_context_params ProjectorParams(const LoadOptions &opt) {
  mtmd_context_params cp = mtmd_context_params_default();
  cp.use_gpu = opt.mmproj_gpu && opt.use_gpu;
  cp.print_timings = false;
  cp.n_threads = opt.threads;
  cp.flash_attn_type = static_cast<llama_flash_attn_type>(opt.flash_attn);
  cp.warmup = opt.warmup;
  cp.image_min_tokens = opt.image_min_tokens;
  cp.image_max_tokens = opt.image_max_tokens;
  return cp;
}

llama_context_params ContextParams(const EngineOptions &opt) {
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = opt.n_ctx;
  cp.n_batch = opt.n_batch;
  cp.n_ubatch = std::min(opt.n_ubatch, opt.n_batch);
  cp.n_seq_max = opt.n_parallel;
  cp.kv_unified = true;  // one pool of cells: a single request may use the whole context
  cp.n_threads = opt.n_threads;
  cp.n_threads_batch = opt.n_threads_batch;
  cp.flash_attn_type = static_cast<llama_flash_attn_type>(opt.flash_attn);
  cp.type_k = static_cast<ggml_type>(opt.type_k);
  cp.type_v = static_cast<ggml_type>(opt.type_v);
  cp.no_perf = true;
  return cp;
}

}  // namespace smolvlm
