// LoRA adapters: loaded once with the model (checked by gguf_check first), shared by its engines,
// and applied to a context as a set of (adapter, scale) pairs.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gguf_check.h"
#include "llama.h"
#include "options.h"

namespace smolvlm {

/** One loaded adapter. llama.cpp frees it with the model. */
struct LoraAdapter {
  LoraSpec spec;
  LoraFileInfo file;
  llama_adapter_lora *ptr = nullptr;
};

/** The adapters a request runs with: (index into the model's adapters, scale), by index, no zero scale. */
using LoraSet = std::vector<std::pair<int32_t, float>>;

/**
 * [blocking] Checks every adapter of `opt` against the model file (opened again, with its tensor
 * infos), before the model's weights are loaded. Throws CheckLoraFile's errors.
 */
std::vector<LoraAdapter> CheckLoras(const LoadOptions &opt);

/**
 * [blocking] Loads the checked `adapters` into `model`. Throws ERR_MODEL_INVALID when llama.cpp
 * refuses one; those loaded before stay with the model, which frees them.
 */
void LoadLoras(llama_model *model, std::vector<LoraAdapter> &adapters);

/** [engine thread] Makes `set` the context's adapters (llama.cpp skips an unchanged set). */
void ApplyLoras(llama_context *ctx, const std::vector<LoraAdapter> &adapters, const LoraSet &set);

}  // namespace smolvlm
