#include "prompt.h"

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "clip-model.h"
#include "errors.h"
#include "log.h"
#include "model.h"

namespace smolvlm {

namespace {

/**
 * Sets the projector's preprocessing parameters for one mtmd_tokenize call and restores them.
 * mtmd reads them (through the preprocessor's reference to the clip context's hparams) only while
 * it preprocesses, and every tokenize of a model holds `preprocess_mu`, so the change is seen by
 * that call alone. SmolVLM's idefics3 preprocessing (tools/mtmd/mtmd-image.cpp) scales the longest
 * side to `image_longest_edge` and cuts tiles of `image_size`; pixel limits (imageMaxTokens)
 * select another path, so they are lifted while an explicit edge applies.
 */
class PreprocessOverride {
 public:
  PreprocessOverride(const ModelHandle &m, const ImageSettings &s) {
    if (s == ImageSettings{}) return;
    hp_ = const_cast<clip_hparams *>(clip_get_hparams(m.clip));  // a member of the live clip_ctx, not a const object
    saved_edge_ = hp_->image_longest_edge;
    saved_min_ = hp_->image_min_pixels;
    saved_max_ = hp_->image_max_pixels;
    hp_->image_longest_edge = s.tiling ? static_cast<int32_t>(s.longest_edge) : hp_->image_size;
    hp_->image_min_pixels = -1;
    hp_->image_max_pixels = -1;
  }
  ~PreprocessOverride() {
    if (!hp_) return;
    hp_->image_longest_edge = saved_edge_;
    hp_->image_min_pixels = saved_min_;
    hp_->image_max_pixels = saved_max_;
  }
  PreprocessOverride(const PreprocessOverride &) = delete;
  PreprocessOverride &operator=(const PreprocessOverride &) = delete;

 private:
  clip_hparams *hp_ = nullptr;
  int32_t saved_edge_ = 0, saved_min_ = -1, saved_max_ = -1;
};

std::string Piece(const llama_vocab *vocab, llama_token t) {
  char buf[64];
  int32_t n = llama_token_to_piece(vocab, t, buf, sizeof(buf), 0, true);
  return n > 0 ? std::string(buf, n) : std::string();
}

/**
 * Cache key of an image's chunks: its id (length-prefixed, so no id can end like another's tag)
 * and what the settings change in the pixels mtmd encodes.
 */
std::string ImageKey(const ModelHandle &m, const std::string &id, const ImageSettings &s) {
  const std::string edge = s == ImageSettings{} ? "default" : std::to_string(s.tiling ? s.longest_edge : m.meta.image_size);
  return std::to_string(id.size()) + ":" + id + "@" + edge;
}

const char *const kNoVision = "this model was loaded without a projector (mmproj): it cannot see images";

[[noreturn]] void LayoutError() {
  throw Error(code::INVALID_ARGUMENT, "tiling: false is not supported for this model: its projector lays out image tokens differently");
}

/** Appends text tokens, merging with a preceding text segment. */
void AddText(Prompt &out, const llama_token *t, size_t n) {
  if (n == 0) return;
  if (out.segments.empty() || out.segments.back().media) out.segments.emplace_back();
  out.segments.back().tokens.insert(out.segments.back().tokens.end(), t, t + n);
}

}  // namespace

Prompt TokenizePrompt(ModelHandle &m, const std::string &text, bool add_special, bool parse_special, const std::vector<PromptImage> &images) {
  Prompt out;
  const llama_vocab *vocab = m.vocab();
  if (!m.mtmd) {
    if (!images.empty()) throw Error(code::NO_VISION, kNoVision);
    int32_t n = -llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), nullptr, 0, add_special, parse_special);
    std::vector<llama_token> tokens(std::max(n, 0));
    if (n > 0) llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(), n, add_special, parse_special);
    AddText(out, tokens.data(), tokens.size());
    out.n_tokens = static_cast<int32_t>(tokens.size());
    return out;
  }

  // The text between media markers; images split into runs with the same settings, each run one
  // mtmd_tokenize call (all defaults: one call for the whole prompt, as llama-mtmd-cli makes).
  const std::string &marker = m.meta.marker;
  std::vector<std::string> pieces;
  for (size_t pos = 0;;) {
    size_t next = text.find(marker, pos);
    pieces.push_back(text.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (next == std::string::npos) break;
    pos = next + marker.size();
  }
  const size_t n_images = pieces.size() - 1;
  if (n_images != images.size()) {
    throw Error(code::INVALID_ARGUMENT, "the prompt has " + std::to_string(n_images) + " media markers but " +
                                            std::to_string(images.size()) + " images were given");
  }

  std::unordered_map<std::string, int> ordinals;  // tiles of one image share its id
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
    int32_t rc;
    std::string why;
    {
      // defaults only read the parameters: any number at once; a change excludes everyone else
      std::shared_lock<std::shared_mutex> reading(m.preprocess_mu, std::defer_lock);
      std::unique_lock<std::shared_mutex> changing(m.preprocess_mu, std::defer_lock);
      if (settings == ImageSettings{}) reading.lock();
      else changing.lock();
      PreprocessOverride override(m, settings);
      log::ClearLastError();
      rc = mtmd_tokenize(m.mtmd, chunks.get(), &input, bitmaps.data(), bitmaps.size());
      if (rc != 0) why = log::LastError();
    }
    if (rc == 1) throw Error(code::INVALID_ARGUMENT, "the number of images does not match the number of media markers in the prompt");
    if (rc != 0) throw Error(code::IMAGE_INVALID, "image preprocessing failed" + (why.empty() ? "" : ": " + why));

    // tiling: false keeps the overview of each image's 1x1 grid (mtmd emits tile, then overview)
    // and the tokens SmolVLM uses for an unsplit image:
    // <fake_token_around_image><global-img> overview <fake_token_around_image>.
    const bool overview_only = !settings.tiling;
    bool drop_newlines = false;
    int image_chunk = 0;
    std::vector<size_t> run_media;  // indices of this run's image segments
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
      const std::string key = id && *id ? ImageKey(m, id, settings) : std::string();
      const int ordinal = key.empty() ? 0 : ordinals[key]++;
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
      const int32_t n = static_cast<int32_t>(mtmd_input_chunk_get_n_tokens(chunk));
      out.n_image_tokens += n;
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
  for (auto &seg : out.segments) out.n_tokens += seg.media ? static_cast<int32_t>(mtmd_input_chunk_get_n_tokens(seg.media)) : static_cast<int32_t>(seg.tokens.size());
  return out;
}

void FindVisionContext(ModelHandle &h) {
  h.clip = nullptr;
  if (!h.mtmd || h.meta.projector_type != "idefics3") return;
  // mtmd has no accessor for its vision context. In the pinned llama.cpp (deps/llama.cpp.json),
  // struct mtmd_context (tools/mtmd/mtmd.cpp) begins with `clip_ctx * ctx_v`, and a class without
  // bases or virtual functions has its first member at its own address. Trust it only when that
  // context answers exactly as the projector read from the file.
  clip_ctx *c = *reinterpret_cast<clip_ctx *const *>(h.mtmd);
  if (!c || !clip_has_vision_encoder(c) || clip_get_projector_type(c) != PROJECTOR_TYPE_IDEFICS3) return;
  const clip_hparams *hp = clip_get_hparams(c);
  if (hp->image_size <= 0 || static_cast<uint32_t>(hp->image_size) != h.meta.image_size ||
      static_cast<uint32_t>(hp->patch_size) != h.meta.patch_size || clip_n_mmproj_embd(c) != llama_model_n_embd_inp(h.model)) {
    return;
  }
  h.clip = c;
  h.default_longest_edge = hp->image_longest_edge > 0 ? static_cast<uint32_t>(hp->image_longest_edge) : 0;
  h.pixel_limits = hp->image_min_pixels > 0 || hp->image_max_pixels > 0;
}

PromptImage ImageFromJs(Napi::Env env, const ModelHandle &m, Napi::Value value) {
  if (!m.mtmd) throw ToJsError(env, code::NO_VISION, kNoVision);
  if (!value.IsObject()) throw ToJsError(env, code::IMAGE_INVALID, "image must be an object { data, width, height }");
  Napi::Object im = value.As<Napi::Object>();
  if (!im.Get("data").IsTypedArray() || im.Get("data").As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw ToJsError(env, code::IMAGE_INVALID, "image data must be a Uint8Array of RGB pixels");
  }
  auto data = im.Get("data").As<Napi::Uint8Array>();
  const uint32_t w = im.Get("width").ToNumber().Uint32Value(), h = im.Get("height").ToNumber().Uint32Value();
  const uint64_t want = static_cast<uint64_t>(w) * h * 3;
  if (w == 0 || h == 0 || want != data.ByteLength()) {
    throw ToJsError(env, code::IMAGE_INVALID, "image buffer is " + std::to_string(data.ByteLength()) +
                                                  " bytes, expected width*height*3 = " + std::to_string(want));
  }

  ImageSettings s;
  Napi::Value edge = im.Get("longestEdge"), tiling = im.Get("tiling");
  auto unsupported = [&] {
    return ToJsError(env, code::INVALID_ARGUMENT,
                     m.meta.projector_type == "idefics3"
                         ? "longestEdge and tiling: false are unavailable: this llama.cpp build's projector context is not the pinned layout"
                         : "longestEdge and tiling: false need SmolVLM's projector (idefics3); this one is " +
                               (m.meta.projector_type.empty() ? std::string("unknown") : m.meta.projector_type));
  };
  if (!tiling.IsUndefined()) {
    if (!tiling.IsBoolean()) throw ToJsError(env, code::INVALID_ARGUMENT, "tiling must be a boolean");
    s.tiling = tiling.As<Napi::Boolean>().Value();
  }
  if ((!s.tiling || !edge.IsUndefined()) && !m.clip) throw unsupported();
  if (!edge.IsUndefined()) {
    const uint32_t lo = m.meta.image_size, hi = std::max(m.default_longest_edge, m.meta.image_size);
    const double e = edge.IsNumber() ? edge.As<Napi::Number>().DoubleValue() : -1;
    if (!(e >= lo && e <= hi) || e != static_cast<double>(static_cast<uint32_t>(e))) {
      throw ToJsError(env, code::INVALID_ARGUMENT, "longestEdge must be an integer from " + std::to_string(lo) + " (one tile) to " +
                                                        std::to_string(hi) + " (the model's default)");
    }
    s.longest_edge = static_cast<uint32_t>(e);
  }
  if (!s.tiling) s.longest_edge = 0;  // one tile: the edge changes nothing
  if (s.longest_edge == m.default_longest_edge && !m.pixel_limits) s.longest_edge = 0;
  try {
    m.CheckImageShape(w, h, s.tiling ? s.longest_edge : m.meta.image_size);
  } catch (const Error &e) {
    throw ToJsError(env, e);
  }
  PromptImage out{mtmd::bitmap(w, h, data.Data()), s};
  if (im.Has("id") && im.Get("id").IsString()) out.bitmap.set_id(im.Get("id").As<Napi::String>().Utf8Value().c_str());
  return out;
}

}  // namespace smolvlm
