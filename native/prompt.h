// Prompt: templated text with a media marker per image -> the segments an engine evaluates (text
// tokens, image chunks), with per-image resolution settings applied to mtmd's preprocessing.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "llama.h"
#include "mtmd.h"
#include "projector.h"

namespace smolvlm {

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
 * [blocking, any thread] Tokenizes `text` with one image per media marker (mtmd's default), one
 * mtmd_tokenize call per run of consecutive images with equal settings: a prompt whose images all
 * use the defaults is a single call, exactly as llama-mtmd-cli makes it. Without a projector the
 * text is tokenized as it is (images are refused before: js::ReadImages).
 * Throws Error: ERR_INVALID_ARGUMENT (marker count; tiling: false on a projector that lays tokens
 * out otherwise), ERR_IMAGE_INVALID (preprocessing).
 */
Prompt TokenizePrompt(const llama_vocab *vocab, Projector *projector, const std::string &text, bool add_special, bool parse_special,
                      const std::vector<Image> &images);

/**
 * [sync] The prompt as one token sequence: text tokens as they are, each position an image chunk's
 * embeddings take as kImagePosition (-1), in evaluation order.
 */
inline constexpr llama_token kImagePosition = -1;
std::vector<llama_token> FlatTokens(const Prompt &prompt);

}  // namespace smolvlm
