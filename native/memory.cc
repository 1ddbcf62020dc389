#include "memory.h"

#include "errors.h"
#include "gguf_check.h"
#include "llama-ext.h"  // llama_get_memory_breakdown: what llama.cpp's own --fit uses
#include "log.h"
#include "lora.h"

namespace smolvlm::memory {
namespace {

DeviceBytes Describe(ggml_backend_dev_t dev) {
  DeviceBytes d;
  d.device = ggml_backend_dev_name(dev);
  d.type = ggml_backend_dev_type(dev);
  ggml_backend_dev_memory(dev, &d.free, &d.total);
  return d;
}

DeviceBytes Host() {
  ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
  DeviceBytes d = cpu ? Describe(cpu) : DeviceBytes{};
  d.device = "CPU";
  d.type = GGML_BACKEND_DEVICE_TYPE_CPU;
  return d;
}

}  // namespace

Report Breakdown(const llama_context *ctx, const llama_model *model) {
  Report r;
  r.layers = llama_model_n_layer(model);
  const int nd = llama_model_n_devices(model);
  for (int i = 0; i < nd; i++) r.devices.push_back(Describe(llama_model_get_device(model, i)));
  r.devices.push_back(Host());
  for (const auto &[buft, mb] : llama_get_memory_breakdown(ctx)) {
    DeviceBytes *into = &r.devices.back();
    if (!ggml_backend_buft_is_host(buft)) {
      ggml_backend_dev_t dev = ggml_backend_buft_get_device(buft);
      for (int i = 0; i < nd; i++)
        if (dev == llama_model_get_device(model, i)) into = &r.devices[i];
    }
    into->model += mb.model;
    into->context += mb.context;
    into->compute += mb.compute;
  }
  return r;
}

std::vector<DeviceBytes> Projector(const std::string &mmproj_path, mtmd_context_params params) {
  std::vector<DeviceBytes> out;
  params.warmup = true;  // the compute buffer is part of what a loaded projector holds
  for (const auto &[dev, bytes] : mtmd_get_memory_usage(mmproj_path.c_str(), params)) {
    DeviceBytes d = dev && ggml_backend_dev_type(dev) != GGML_BACKEND_DEVICE_TYPE_CPU ? Describe(dev) : Host();
    d.model = bytes;
    out.push_back(d);
  }
  return out;
}

Report Estimate(const LoadOptions &lo, const EngineOptions &eo) {
  GgufFile text, proj;
  CheckModelFiles(lo, text, proj);
  llama_model_params mp = ModelParams(lo);
  mp.no_alloc = true;  // metadata only: simulate every allocation
  mp.load_mode = LLAMA_LOAD_MODE_NONE;
  log::ClearLastError();
  llama_model *model = llama_model_load_from_file(lo.model_path.c_str(), mp);
  if (!model) throw Error(code::MODEL_INVALID, "failed to read model " + lo.model_path + ": " + log::LastError());
  llama_context *ctx = llama_init_from_model(model, ContextParams(eo));
  if (!ctx) {
    llama_model_free(model);
    throw Error(code::OUT_OF_MEMORY, "a context of " + std::to_string(eo.n_ctx) + " tokens cannot be created: " + log::LastError());
  }
  Report report = Breakdown(ctx, model);
  llama_free(ctx);
  llama_model_free(model);
  for (const LoraAdapter &a : CheckLoras(lo)) report.lora += a.file.bytes;
  if (!lo.mmproj_path.empty()) report.projector = Projector(lo.mmproj_path, ProjectorParams(lo));
  return report;
}

}  // namespace smolvlm::memory
