#include "lora.h"

#include "errors.h"
#include "log.h"

namespace smolvlm {

std::vector<LoraAdapter> CheckLoras(const LoadOptions &opt) {
  std::vector<LoraAdapter> out;
  if (opt.lora.empty()) return out;
  GgufFile base;
  base.Open(opt.model_path, "model");
  for (const LoraSpec &spec : opt.lora) out.push_back({spec, CheckLoraFile(spec.path, base), nullptr});
  return out;
}

void LoadLoras(llama_model *model, std::vector<LoraAdapter> &adapters) {
  for (LoraAdapter &a : adapters) {
    log::ClearLastError();
    a.ptr = llama_adapter_lora_init(model, a.spec.path.c_str());
    if (!a.ptr) {
      const std::string why = log::LastError();
      throw Error(code::MODEL_INVALID, "failed to load LoRA adapter " + a.spec.path + (why.empty() ? "" : ": " + why));
    }
  }
}

void ApplyLoras(llama_context *ctx, const std::vector<LoraAdapter> &adapters, const LoraSet &set) {
  std::vector<llama_adapter_lora *> ptrs;
  std::vector<float> scales;
  for (const auto &[index, scale] : set) {
    ptrs.push_back(adapters.at(static_cast<size_t>(index)).ptr);
    scales.push_back(scale);
  }
  llama_set_adapters_lora(ctx, ptrs.data(), ptrs.size(), scales.data());
}

}  // namespace smolvlm
