// Prompt: templated text with a media marker per image -> the segments an engine evaluates (text
// tokens, image chunks), with per-image resolution settings applied to mtmd's preprocessing.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "llama.h"
#include "mtmd.h"

namespace smolvlm {

struct ModelHandle;

/** How one image is cut into projector tiles. Both fields 0/true: the projector's own defaults. */
struct ImageSettings {
  /** The image's longest side is scaled to this before tiling (0: the projector's default). */
  uint32_t longest_edge = 0;
  /** false: the downscaled overview only (one tile's tokens), no tiles. */
  bool tiling = true;
  bool operator==(const ImageSettings &o) const { return longest_edge == o.longest_edge && tiling == o.tiling; }
};

struct PromptImage {
  mtmd::bitmap bitmap;
  ImageSettings settings;
};

/** The prompt as an engine evaluates it. */
struct Prompt {
  struct Segment {
    std::vector<llama_token> tokens;         // text segment
    const mtmd_input_chunk *media = nullptr;  // image segment (owned by `chunk_sets` or `media_chunks`)
    std::string cache_key;                    // image content hash, settings, tile ordinal; empty: not cacheable
  };
  std::vector<Segment> segments;  // never two text segments in a row
  std::vector<mtmd::input_chunks_ptr> chunk_sets;  // what mtmd_tokenize returned
  std::vector<mtmd::input_chunk_ptr> media_chunks;  // copies of kept chunks whose set was freed
  int32_t n_tokens = 0, n_image_tokens = 0;
};

/**
 * [load] Sets model.clip (and its default longest edge) when the projector is SmolVLM's idefics3;
 * leaves it null otherwise (resolution settings are then refused).
 */
void FindVisionContext(ModelHandle &model);

/**
 * [blocking, any thread] Tokenizes `text` with one image per media marker, one mtmd_tokenize call
 * per run of consecutive images with equal settings: a prompt whose images all use the defaults is
 * a single call, exactly as llama-mtmd-cli makes it. Other settings change the projector's
 * preprocessing parameters for their call (exclusively; default calls share a lock).
 * Throws Error: ERR_INVALID_ARGUMENT (marker count; tiling: false on a projector that lays tokens
 * out otherwise), ERR_IMAGE_INVALID (preprocessing), ERR_NO_VISION (images without a projector).
 */
Prompt TokenizePrompt(ModelHandle &model, const std::string &text, bool add_special, bool parse_special,
                      const std::vector<PromptImage> &images);

/**
 * [JS thread] An image from { data: Uint8Array (RGB), width, height, id?, longestEdge?, tiling? };
 * copies the pixels (JS may reuse its buffer) and checks the shape against the model.
 * Throws ERR_NO_VISION / ERR_IMAGE_INVALID / ERR_INVALID_ARGUMENT as JS errors.
 */
PromptImage ImageFromJs(Napi::Env env, const ModelHandle &model, Napi::Value value);

}  // namespace smolvlm
