#include "prompt.h"

#include <algorithm>

#include "errors.h"
#include "tokens.h"

namespace smolvlm {
namespace {

[[noreturn]] void LayoutError() {
  throw Error(code::INVALID_ARGUMENT, "tiling: false is not supported for this model: its projector lays out image tokens differently");
}

/**
 * The markers of SmolVLM's image layout as this vocabulary tokenizes them. mtmd's idefics3 layout
 * looks `<global-img>` up as one token (tools/mtmd/mtmd.cpp, tok_ov_img_start) and gets
 * LLAMA_TOKEN_NULL where the vocabulary has none: SmolVLM-Instruct (2.2B) adds only
 * `<fake_token_around_image>`, `<image>` and `<end_of_utterance>`, and Hugging Face's Idefics3
 * processor writes `<global-img>` and `<row_R_col_C>` as plain text, which the tokenizer then
 * splits into ordinary tokens. mtmd already tokenizes `<row_R_col_C>` from a string; the missing
 * `<global-img>` becomes its text tokens here. With the 256M/500M/SmolVLM2 vocabularies (both
 * markers are tokens) nothing is replaced, so their prompts stay exactly llama-mtmd-cli's.
 */
struct Markers {
  explicit Markers(const llama_vocab *vocab)
      : fake(Tokenize(vocab, "<fake_token_around_image>", false, true)),
        global_img(Tokenize(vocab, "<global-img>", false, true)),
        first_tile(Tokenize(vocab, "<fake_token_around_image><row_1_col_1>", false, true)) {}
  std::vector<llama_token> fake, global_img, first_tile;
};

bool EndsWith(const std::vector<llama_token> &v, const std::vector<llama_token> &tail) {
  return !tail.empty() && v.size() >= tail.size() && std::equal(tail.begin(), tail.end(), v.end() - tail.size());
}

/**
 * A text chunk's tokens with each LLAMA_TOKEN_NULL that stands for a missing `<global-img>` token
 * (right after `<fake_token_around_image>`, just before an image chunk) replaced by the marker's
 * text tokens. Any other null is a layout this code does not know: an error, never a decode of -1.
 */
std::vector<llama_token> ResolveMarkers(const llama_token *t, size_t n, bool image_follows, const Markers &markers) {
  std::vector<llama_token> out;
  out.reserve(n + markers.global_img.size());
  for (size_t i = 0; i < n; i++) {
    if (t[i] != LLAMA_TOKEN_NULL) {
      out.push_back(t[i]);
      continue;
    }
    if (i + 1 != n || !image_follows || markers.fake.size() != 1 || !EndsWith(out, markers.fake) || markers.global_img.empty()) {
      throw Error(code::MODEL_INVALID, "the projector's image layout needs a token this model's vocabulary does not have");
    }
    out.insert(out.end(), markers.global_img.begin(), markers.global_img.end());
  }
  return out;
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

/**
 * Appends the chunks of one mtmd_tokenize call, with missing markers as text (ResolveMarkers).
 * tiling: false keeps the overview of each image's 1x1 grid (mtmd emits tile, then overview) and
 * the tokens SmolVLM uses for an unsplit image:
 * <fake_token_around_image><global-img> overview <fake_token_around_image>.
 */
void AddChunks(Prompt &out, const llama_vocab *vocab, const Markers &markers, const Projector &projector, mtmd::input_chunks_ptr chunks,
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
      const bool image_follows = c + 1 < n_chunks && mtmd_input_chunk_get_type(mtmd_input_chunks_get(chunks.get(), c + 1)) != MTMD_INPUT_CHUNK_TYPE_TEXT;
      const std::vector<llama_token> text = ResolveMarkers(t, n, image_follows, markers);
      AddText(out, text.data(), text.size());
      continue;
    }
    const char *id = mtmd_input_chunk_get_id(chunk);
    const std::string key = id && *id ? projector.CacheKey(id, settings) : std::string();
    const int ordinal = ordinals[media_index++];  // tiles of one image share its id
    if (overview_only && image_chunk++ % 2 == 0) {
      // the tile: drop it with the <fake_token_around_image><row_1_col_1> before it (two tokens,
      // or <fake_token_around_image> and the text of <row_1_col_1> where the vocabulary has no
      // such token) and the "\n\n" that starts the overview's prefix
      std::vector<llama_token> *prev = out.segments.empty() || out.segments.back().media ? nullptr : &out.segments.back().tokens;
      if (!prev || markers.first_tile.size() < 2 || markers.first_tile.front() != markers.fake.front() || !EndsWith(*prev, markers.first_tile)) {
        LayoutError();
      }
      prev->resize(prev->size() - markers.first_tile.size());
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
  const Markers markers(vocab);
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
    AddChunks(out, vocab, markers, *projector, std::move(chunks), settings, bitmaps);
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

std::vector<llama_token> FlatTokens(const Prompt &prompt) {
  std::vector<llama_token> out;
  out.reserve(prompt.n_tokens);
  for (const auto &seg : prompt.segments) {
    if (seg.media) out.insert(out.end(), mtmd_input_chunk_get_n_tokens(seg.media), kImagePosition);
    else out.insert(out.end(), seg.tokens.begin(), seg.tokens.end());
  }
  return out;
}

}  // namespace smolvlm
