// What llama.cpp's loaders will assert on, checked from the GGUF header before they see the file:
// the llama text model (src/llama-model.cpp load_hparams + tensor creation, llama-vocab.cpp) and
// the idefics3 projector (tools/mtmd/clip.cpp clip_model_loader). Every key either loader reads
// is checked for its GGUF type (clip reads without checking and aborts in gguf.cpp), every value
// for its range, and every tensor for the shape the loader derives from the hyperparameters; a
// tensor the loader would not create is refused too. Files that pass load and generate.
#pragma once
#include <string>

#include "gguf_keys.h"

namespace smolvlm {

/** Summary of a checked text model the projector check needs. */
struct TextModelFacts {
  int64_t n_embd = 0;
};

/** [blocking] Checks a llama-arch text model; throws Error ERR_MODEL_INVALID naming the key or tensor. */
TextModelFacts CheckTextModelRules(const GgufView &file);

/**
 * [blocking] Checks an idefics3 projector against `text`; throws ERR_PROJECTOR_MISMATCH (foreign
 * projector type, dimension mismatch) or ERR_MODEL_INVALID (a bad key, value or tensor).
 */
void CheckProjectorRules(const GgufView &file, const TextModelFacts &text);

}  // namespace smolvlm
