#include "prompt.h"


#include "errors.h"
#include "tokens.h"

namespace smolvlm {
namespace {

[[noreturn]] void LayoutError() {
  throw Error(code::INVALID_ARGUMENT, "tiling: false is not supported for this model: its projector lays out image tokens differently");
}

/** Appends text tokens, merging with a preceding text segment. */
void AddText(Prompt &out, const llama_token *t, size_t n) {
  if (n == 0) return;
  if (out.segments.empty() || out.segments.back().media) out.segments.emplace_back();
  out.segments.back().tokens.insert(out.segments.back().tokens.end(), t, t + n);
}

/** The text around the media markers: one piece more than there are markers. */
std::vector<std::string> SplitAtMarkers(const std::string &text, const std::string &marker) {
  std::vector<std::string> pieces;
  for (size_t pos = 0;;) {
    size_t next = text.find(marker, pos);
    pieces.push_back(text.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (next == std::string::npos) return pieces;
    pos = next + marker.size();
  }
}

/**
 * Appends the chunks of one mtmd_tokenize call. tiling: false keeps the overview of each image's
 * 1x1 grid (mtmd emits tile, then overview) and the tokens SmolVLM uses for an unsplit image:
 * <fake_token_around_image><global-img> overview <fake_token_around_image>.
 */
/**
 * Each image chunk's ordinal inside its own image (tile 0, 1, ..., overview), so that the same
 * picture twice in one call gives both copies the same cache keys. mtmd gives every chunk of an
 * image the image's id; a run of k equal ids among `bitmaps` yields k equal runs of chunks.
 */
std::vector<int> TileOrdinals(const mtmd_input_chunks *chunks, const std::vector<const mtmd_bitmap *> &bitmaps) {
  std::vector<std::string> ids;
  for (size_t c = 0; c < mtmd_input_chunks_size(chunks); c++) {
    const mtmd_input_chunk *chunk = mtmd_input_chunks_get(chunks, c);
    if (mtmd_input_chunk_get_type(chunk) == MTMD_INPUT_CHUNK_TYPE_TEXT) continue;
    const char *id = mtmd_input_chunk_get_id(chunk);
    ids.push_back(id ? id : "");
  }
  std::vector<int> ordinals(ids.size());
  for (size_t p = 0, q = 0; p < ids.size();) {
    size_t c = 0, k = 0;
    while (p + c < ids.size() && ids[p + c] == ids[p]) c++;
    while (q + k < bitmaps.size() && ids[p] == mtmd_bitmap_get_id(bitmaps[q + k])) k++;
    const size_t per_image = k > 0 && c % k == 0 ? c / k : c;
    for (size_t i = 0; i < c; i++) ordinals[p + i] = static_cast<int>(i % per_image);
    p += c;
    q += k;
  }
  return ordinals;
}

void AddChunks(Prompt &out, const llama_vocab *vocab, const Projector &projector, mtmd::input_chunks_ptr chunks,
               const ImageSettings &settings, const std::vector<const mtmd_bitmap *> &bitmaps) {
  const bool overview_only = !settings.tiling;
  bool drop_newlines = false;
  int image_chunk = 0;
  std::vector<size_t> run_media;  // indices of this run's image segments
  const std::vector<int> ordinals = TileOrdinals(chunks.get(), bitmaps);
  size_t media_index = 0;
  const size_t n_chunks = mtmd_input_chunks_size(chunks.get());
  for (size_t c = 0; c < n_chunks; c++) {
    const mtmd_input_chunk *chunk = mtmd_input_chunks_get(chunks.get(), c);
    if (mtmd_input_chunk_get_type(chunk) == MTMD_INPUT_CHUNK_TYPE_TEXT) {
      size_t n = 0;
      const llama_token *t = mtmd_input_chunk_get_tokens_text(chunk, &n);
      if (drop_newlines) {
        if (n == 0 || Piece(vocab, t[0]) != "\n\n") LayoutError();
        t++, n--;
        drop_newlines = false;
      }
      AddText(out, t, n);
      continue;
    }
    const char *id = mtmd_input_chunk_get_id(chunk);
    const std::string key = id && *id ? projector.CacheKey(id, settings) : std::string();
    const int ordinal = ordinals[media_index++];  // tiles of one image share its id
    if (overview_only && image_chunk++ % 2 == 0) {
      // the tile: drop it with the <fake_token_around_image><row_1_col_1> before it and the
      // "\n\n" that starts the overview's prefix
      std::vector<llama_token> *prev = out.segments.empty() || out.segments.back().media ? nullptr : &out.segments.back().tokens;
      if (!prev || prev->size() < 2 || Piece(vocab, (*prev)[prev->size() - 1]) != "<row_1_col_1>" ||
          Piece(vocab, (*prev)[prev->size() - 2]) != "<fake_token_around_image>") {
        LayoutError();
      }
      prev->resize(prev->size() - 2);
      if (prev->empty()) out.segments.pop_back();
      drop_newlines = true;
      continue;
    }
    Prompt::Segment seg;
    seg.media = chunk;
    if (!key.empty()) seg.cache_key = key + "#" + std::to_string(ordinal);
    out.n_image_tokens += static_cast<int32_t>(mtmd_input_chunk_get_n_tokens(chunk));
    run_media.push_back(out.segments.size());
    out.segments.push_back(std::move(seg));
  }
  if (drop_newlines) LayoutError();
  if (overview_only) {
    // keep copies of the overviews only; the tiles' pixels are freed with `chunks`
    for (size_t s : run_media) {
      out.media_chunks.emplace_back(mtmd_input_chunk_copy(out.segments[s].media));
      out.segments[s].media = out.media_chunks.back().get();
    }
  } else {
    out.chunk_sets.push_back(std::move(chunks));
  }
}

}  // namespace

Prompt TokenizePrompt(const llama_vocab *vocab, Projector *projector, const std::string &text, bool add_special, bool parse_special,
                      const std::vector<Image> &images) {
  Prompt out;
  if (!projector) {
    const std::vector<llama_token> tokens = Tokenize(vocab, text, add_special, parse_special);
    AddText(out, tokens.data(), tokens.size());
    out.n_tokens = static_cast<int32_t>(tokens.size());
    return out;
  }

  // The text between media markers; images split into runs with the same settings, each run one
  // mtmd_tokenize call (all defaults: one call for the whole prompt, as llama-mtmd-cli makes).
  const std::string marker = mtmd_default_marker();
  const std::vector<std::string> pieces = SplitAtMarkers(text, marker);
  const size_t n_images = pieces.size() - 1;
  if (n_images != images.size()) {
    throw Error(code::INVALID_ARGUMENT, "the prompt has " + std::to_string(n_images) + " media markers but " +
                                            std::to_string(images.size()) + " images were given");
  }

  for (size_t i = 0;;) {
    size_t j = i;
    if (i < n_images) {
      j = i + 1;
      while (j < n_images && images[j].settings == images[i].settings) j++;
    }
    std::string run = pieces[i];
    std::vector<const mtmd_bitmap *> bitmaps;
    for (size_t k = i; k < j; k++) {
      run += marker;
      bitmaps.push_back(images[k].bitmap.ptr.get());
      if (k + 1 < j || j == n_images) run += pieces[k + 1];
    }
    const ImageSettings settings = i < n_images ? images[i].settings : ImageSettings{};

    // BOS/EOS are added below, once for the whole prompt.
    mtmd_input_text input{run.c_str(), run.size(), false, parse_special};
    mtmd::input_chunks_ptr chunks(mtmd_input_chunks_init());
    const MtmdResult r = projector->Tokenize(chunks.get(), input, bitmaps, settings);
    if (r.rc == 1) throw Error(code::INVALID_ARGUMENT, "the number of images does not match the number of media markers in the prompt");
    if (r.rc != 0) throw Error(code::IMAGE_INVALID, "image preprocessing failed" + (r.why.empty() ? "" : ": " + r.why));
    AddChunks(out, vocab, *projector, std::move(chunks), settings, bitmaps);
    if (j == n_images) break;
    i = j;
  }

  if (add_special && llama_vocab_get_add_bos(vocab)) {
    const llama_token bos = llama_vocab_bos(vocab);
    if (out.segments.empty() || out.segments.front().media) out.segments.insert(out.segments.begin(), Prompt::Segment{});
    out.segments.front().tokens.insert(out.segments.front().tokens.begin(), bos);
  }
  if (add_special && llama_vocab_get_add_eos(vocab)) {
    const llama_token eos = llama_vocab_eos(vocab);
    AddText(out, &eos, 1);
  }
  for (auto &seg : out.segments) {
    out.n_tokens += seg.media ? static_cast<int32_t>(mtmd_input_chunk_get_n_tokens(seg.media)) : static_cast<int32_t>(seg.tokens.size());
  }
  return out;
}

}  // namespace smolvlm
