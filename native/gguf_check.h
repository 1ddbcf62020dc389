// The model and projector files, checked before llama.cpp sees them: its asserts on a missing,
// foreign, truncated or mismatched file would end the process. Also the GGUF metadata reads the
// loader needs (llama.cpp exposes a projector's header only through gguf).
#pragma once
#include <cstdint>
#include <string>

#include "gguf.h"
#include "gguf_rules.h"
#include "options.h"

namespace smolvlm {

/** A GGUF header (metadata only, no tensor data). */
class GgufFile {
 public:
  GgufFile() = default;
  ~GgufFile();
  GgufFile(const GgufFile &) = delete;
  GgufFile &operator=(const GgufFile &) = delete;
  /** [blocking] Reads the header of `path` with its tensor infos (names, types, shapes; no data); ERR_MODEL_INVALID when truncated or corrupt. */
  void Open(const std::string &path, const char *what);
  /** [sync] A tensor's info; null when absent. */
  const ggml_tensor *Tensor(const char *name) const;
  /** [sync] The tensor infos in file order. */
  ggml_context *Tensors() const { return meta_; }
  gguf_context *ctx() const { return ctx_; }
  /** [sync] A string value; empty when missing or not a string. */
  std::string Str(const char *key) const;
  /** [sync] A (u)int32 value; -1 when missing or of another type. */
  int64_t U32(const char *key) const;
  /** [sync] Whether the header has `key` (of any type). */
  bool Has(const char *key) const;
  /** [sync] The header and its tensors' metadata, for the rules in gguf_rules.h. */
  GgufView View() const { return GgufView{ctx_, meta_, path_}; }

 private:
  gguf_context *ctx_ = nullptr;
  ggml_context *meta_ = nullptr;  // tensor infos
  std::string path_;
};

/**
 * [blocking] Checks the model file (and the projector, when `opt` names one) and reads their
 * headers into `text` and `proj`. Throws Error: ERR_MODEL_NOT_FOUND, ERR_MODEL_UNREADABLE,
 * ERR_NOT_GGUF, ERR_MODEL_INVALID, ERR_PROJECTOR_MISMATCH.
 */
void CheckModelFiles(const LoadOptions &opt, GgufFile &text, GgufFile &proj);

/** What a LoRA adapter file holds, as far as loading it needs (CheckLoraFile). */
struct LoraFileInfo {
  uint64_t bytes = 0;   // the A/B tensors llama.cpp allocates
  int32_t tensors = 0;  // A/B pairs
  float alpha = 0.f;    // adapter.lora.alpha; 0: none (scale applies as is)
};

/**
 * [blocking] Checks a LoRA adapter file against the model it is for (`base`, opened with
 * Open): a GGUF adapter of type lora for the model's architecture, whose every A/B
 * pair adapts a tensor of the model with matching shapes and whose data lies within the file;
 * everything llama_adapter_lora_init would throw for or assert on. Throws Error:
 * ERR_MODEL_NOT_FOUND, ERR_MODEL_UNREADABLE, ERR_NOT_GGUF, ERR_MODEL_INVALID (naming the problem).
 */
LoraFileInfo CheckLoraFile(const std::string &path, const GgufFile &base);

/** [blocking] Bytes of the file at `path`; 0 when it cannot be read. */
uint64_t FileSize(const std::string &path);

}  // namespace smolvlm
