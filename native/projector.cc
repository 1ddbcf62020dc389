#include "projector.h"

#include <algorithm>
#include <chrono>

#include "clip-model.h"
#include "errors.h"
#include "log.h"

namespace smolvlm {
namespace {

/**
 * Sets the projector's preprocessing parameters for one mtmd_tokenize call and restores them.
 * mtmd reads them (through the preprocessor's reference to the clip context's hparams) only while
 * it preprocesses, and every tokenize holds `preprocess_mu_`, so the change is seen by that call
 * alone. SmolVLM's idefics3 preprocessing (tools/mtmd/mtmd-image.cpp) scales the longest side to
 * `image_longest_edge` and cuts tiles of `image_size`; pixel limits (imageMaxTokens) select
 * another path, so they are lifted while an explicit edge applies.
 */
class PreprocessOverride {
 public:
  PreprocessOverride(clip_ctx *clip, const ImageSettings &s) {
    if (s == ImageSettings{}) return;
    hp_ = const_cast<clip_hparams *>(clip_get_hparams(clip));  // a member of the live clip_ctx, not a const object
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

uint32_t Positive(int64_t v) { return v > 0 ? static_cast<uint32_t>(v) : 0; }

}  // namespace

std::unique_ptr<Projector> Projector::Load(const LoadOptions &opt, llama_model *model, const GgufFile &file,
                                           mtmd_progress_callback progress, void *progress_ud) {
  std::unique_ptr<Projector> p(new Projector());
  mtmd_context_params cp = ProjectorParams(opt);
  cp.cb_eval = OnEval;
  cp.cb_eval_user_data = p.get();
  cp.progress_callback = progress;
  cp.progress_callback_user_data = progress_ud;
  log::ClearLastError();
  p->ctx_ = mtmd_init_from_file(opt.mmproj_path.c_str(), model, cp);
  if (!p->ctx_) {
    std::string why = log::LastError();
    throw Error(code::PROJECTOR_MISMATCH, "failed to load projector " + opt.mmproj_path + (why.empty() ? "" : ": " + why));
  }
  ProjectorInfo &m = p->info_;
  m.has_vision = mtmd_support_vision(p->ctx_);
  // mtmd has no live accounting API; its dry run reserves exactly what the load allocated.
  p->memory_ = memory::Projector(opt.mmproj_path, ProjectorParams(opt));
  m.size_bytes = FileSize(opt.mmproj_path);
  m.type = file.Str("clip.projector_type");
  const int64_t image_size = file.U32("clip.vision.image_size"), patch = file.U32("clip.vision.patch_size");
  const int64_t scale = file.U32("clip.vision.projector.scale_factor");
  m.preproc_longest_edge = Positive(file.U32("clip.vision.preproc_image_size"));
  m.image_size = Positive(image_size);
  m.patch_size = Positive(patch);
  m.scale_factor = Positive(scale);
  if (image_size > 0 && patch > 0 && scale > 0) {
    const int64_t side = image_size / patch;
    m.tokens_per_tile = static_cast<uint32_t>((side * side) / (scale * scale));
  }
  p->FindVisionContext(model);
  return p;
}

Projector::~Projector() {
  if (ctx_) mtmd_free(ctx_);
}

void Projector::FindVisionContext(const llama_model *model) {
  if (info_.type != "idefics3") return;
  // mtmd has no accessor for its vision context. In the pinned llama.cpp (deps/llama.cpp.json),
  // struct mtmd_context (tools/mtmd/mtmd.cpp) begins with `clip_ctx * ctx_v`, and a class without
  // bases or virtual functions has its first member at its own address. Trust it only when that
  // context answers exactly as the projector read from the file.
  clip_ctx *c = *reinterpret_cast<clip_ctx *const *>(ctx_);
  if (!c || !clip_has_vision_encoder(c) || clip_get_projector_type(c) != PROJECTOR_TYPE_IDEFICS3) return;
  const clip_hparams *hp = clip_get_hparams(c);
  if (hp->image_size <= 0 || static_cast<uint32_t>(hp->image_size) != info_.image_size ||
      static_cast<uint32_t>(hp->patch_size) != info_.patch_size || clip_n_mmproj_embd(c) != llama_model_n_embd_inp(model)) {
    return;
  }
  clip_ = c;
  default_longest_edge_ = hp->image_longest_edge > 0 ? static_cast<uint32_t>(hp->image_longest_edge) : 0;
  pixel_limits_ = hp->image_min_pixels > 0 || hp->image_max_pixels > 0;
}

// Graph callback: stops the encode when the request being encoded was aborted. ggml's scheduler
// asks about every node before it computes a graph, and splits the graph at each node we ask to
// see, one thread launch per piece: asking every 32nd node made a two-thread encode 10-40x slower
// than llama-mtmd-cli's on a VM (each piece waits for a sleeping vCPU). So we ask only once the
// abort flag is set: no split otherwise, and an abort is seen at the start of the next graph
// (one per tile or batch of tiles), not mid-graph.
bool Projector::OnEval(struct ggml_tensor *, bool ask, void *ud) {
  auto *p = static_cast<Projector *>(ud);
  const std::atomic<bool> *flag = p->encode_abort_.load();
  const bool aborted = flag && flag->load();
  if (ask) return aborted;
  return !aborted;
}

Image Projector::MakeImage(uint32_t width, uint32_t height, const uint8_t *rgb, const std::string &id, uint32_t longest_edge,
                           bool tiling) const {
  ImageSettings s;
  s.tiling = tiling;
  if ((!tiling || longest_edge != 0) && !clip_) {
    throw Error(code::INVALID_ARGUMENT,
                info_.type == "idefics3"
                    ? "longestEdge and tiling: false are unavailable: this llama.cpp build's projector context is not the pinned layout"
                    : "longestEdge and tiling: false need SmolVLM's projector (idefics3); this one is " +
                          (info_.type.empty() ? std::string("unknown") : info_.type));
  }
  if (longest_edge != 0) {
    const uint32_t lo = info_.image_size, hi = std::max(default_longest_edge_, info_.image_size);
    if (longest_edge < lo || longest_edge > hi) {
      throw Error(code::INVALID_ARGUMENT, "longestEdge must be an integer from " + std::to_string(lo) + " (one tile) to " +
                                              std::to_string(hi) + " (the model's default)");
    }
    s.longest_edge = longest_edge;
  }
  // Hugging Face's Idefics3 processor does not split an image that fits one tile: at a longest edge
  // of one tile it writes the unsplit layout (the overview alone), which is what tiling: false gives
  // (mtmd would add a 1x1 grid before the overview: twice the tokens, and not what the model saw).
  if (s.tiling && s.longest_edge == info_.image_size) s.tiling = false;
  if (!s.tiling) s.longest_edge = 0;  // one tile: the edge changes nothing
  if (s.longest_edge == default_longest_edge_ && !pixel_limits_) s.longest_edge = 0;

  // mtmd scales the longest side to the edge, and a short side that rounds to 0 pixels ends in
  // an assert (process abort) inside llama.cpp.
  const uint32_t edge = s.tiling ? s.longest_edge : info_.image_size;
  const uint32_t scaled_to = edge ? edge : info_.preproc_longest_edge ? info_.preproc_longest_edge : 1024;
  const double aspect = static_cast<double>(std::max(width, height)) / std::min(width, height);
  const double limit = std::max(8.0, scaled_to / 4.0);
  if (aspect > limit) {
    throw Error(code::IMAGE_INVALID, "image is " + std::to_string(width) + "x" + std::to_string(height) + ": more elongated than " +
                                         std::to_string(static_cast<int>(limit)) + ":1, which this projector cannot tile; crop or pad it");
  }
  Image out{mtmd::bitmap(width, height, rgb), s};
  if (!id.empty()) out.bitmap.set_id(id.c_str());
  return out;
}

MtmdResult Projector::Tokenize(mtmd_input_chunks *out, const mtmd_input_text &text, const std::vector<const mtmd_bitmap *> &bitmaps,
                               const ImageSettings &settings) {
  // defaults only read the parameters: any number at once; a change excludes everyone else
  std::shared_lock<std::shared_mutex> reading(preprocess_mu_, std::defer_lock);
  std::unique_lock<std::shared_mutex> changing(preprocess_mu_, std::defer_lock);
  if (settings == ImageSettings{}) reading.lock();
  else changing.lock();
  PreprocessOverride override(clip_, settings);
  log::ClearLastError();
  MtmdResult r;
  r.rc = mtmd_tokenize(ctx_, out, &text, const_cast<const mtmd_bitmap **>(bitmaps.data()), bitmaps.size());
  if (r.rc != 0) r.why = log::LastError();
  return r;
}

MtmdResult Projector::Encode(mtmd_batch *batch, const std::atomic<bool> &abort) {
  std::lock_guard<std::mutex> lock(encode_mu_);
  encode_abort_ = &abort;
  MtmdResult r;
  const auto t0 = std::chrono::steady_clock::now();
  log::ClearLastError();
  r.rc = mtmd_batch_encode(batch);
  r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (r.rc != 0) r.why = log::LastError();
  encode_abort_ = nullptr;
  return r;
}

std::string Projector::CacheKey(const std::string &id, const ImageSettings &s) const {
  // the id length-prefixed, so that no id can end like another's tag
  const std::string edge = s == ImageSettings{} ? "default" : std::to_string(s.tiling ? s.longest_edge : info_.image_size);
  return std::to_string(id.size()) + ":" + id + "@" + edge;
}

}  // namespace smolvlm
