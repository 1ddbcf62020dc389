// The vision projector of a model: the mtmd_context, the clip context inside it (for per-image
// resolution), the locks that serialise its use across engines, image limits, the abort hook of
// image encodes, and its memory.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "gguf_check.h"
#include "llama.h"
#include "memory.h"
#include "mtmd.h"
#include "options.h"

struct clip_ctx;

namespace smolvlm {

/** How one image is cut into projector tiles. Both fields 0/true: the projector's own defaults. */
struct ImageSettings {
  /** The image's longest side is scaled to this before tiling (0: the projector's default). */
  uint32_t longest_edge = 0;
  /** false: the downscaled overview only (one tile's tokens), no tiles. */
  bool tiling = true;
  bool operator==(const ImageSettings &o) const { return longest_edge == o.longest_edge && tiling == o.tiling; }
};

/** An image ready for the projector: its pixels (a copy), content id and settings. */
struct Image {
  mtmd::bitmap bitmap;
  ImageSettings settings;
};

/** What the projector file and context say about it (the `vision` part of the model's info). */
struct ProjectorInfo {
  bool has_vision = false;
  std::string type;  // clip.projector_type, e.g. idefics3
  uint32_t image_size = 0, patch_size = 0, scale_factor = 0, tokens_per_tile = 0;
  uint32_t preproc_longest_edge = 0;  // images are resized so their longest side is this
  uint64_t size_bytes = 0;            // the file
};

/** What an mtmd call returned: its code, the logged reason of a failure, and how long it ran. */
struct MtmdResult {
  int32_t rc = 0;
  std::string why;
  double ms = 0;
};

class Projector {
 public:
  /**
   * [blocking] Loads the projector `opt.mmproj_path` (already checked, its header in `file`) for
   * `model`, reporting progress through `progress(p, ud)` (false: abort). Throws Error
   * ERR_PROJECTOR_MISMATCH when mtmd refuses it.
   */
  static std::unique_ptr<Projector> Load(const LoadOptions &opt, llama_model *model, const GgufFile &file,
                                         mtmd_progress_callback progress, void *progress_ud);
  ~Projector();
  Projector(const Projector &) = delete;
  Projector &operator=(const Projector &) = delete;

  // The accessors below are [sync] and read what the load set.
  const ProjectorInfo &info() const { return info_; }
  /** What images are scaled to when a request sets nothing. */
  uint32_t longest_edge() const { return default_longest_edge_ ? default_longest_edge_ : info_.preproc_longest_edge; }
  /** Whether images may set longestEdge and tiling: false (SmolVLM's idefics3, pinned layout). */
  bool resolution_control() const { return clip_ != nullptr; }
  /** Weights + compute buffers per device, from mtmd's dry run at load. */
  const std::vector<memory::DeviceBytes> &memory() const { return memory_; }
  mtmd_context *ctx() const { return ctx_; }

  /**
   * [sync] An image of `width` x `height` RGB pixels (copied) with content id `id` ('' = none),
   * `longest_edge` (0 = the default) and `tiling`. Throws Error: ERR_INVALID_ARGUMENT (settings
   * this projector cannot apply, edge out of range), ERR_IMAGE_INVALID (a shape whose short side
   * would round to 0 pixels: an assert inside llama.cpp).
   */
  Image MakeImage(uint32_t width, uint32_t height, const uint8_t *rgb, const std::string &id, uint32_t longest_edge,
                  bool tiling) const;

  /**
   * [blocking, any thread] mtmd_tokenize of `text` with `bitmaps`, `settings` applied to the
   * preprocessing for this call alone (calls with the defaults run concurrently, a change runs
   * alone).
   */
  MtmdResult Tokenize(mtmd_input_chunks *out, const mtmd_input_text &text, const std::vector<const mtmd_bitmap *> &bitmaps,
                      const ImageSettings &settings);

  /**
   * [blocking, any thread] mtmd_batch_encode, one at a time per projector; `abort` stops the
   * projector's graph within a few nodes. `ms` is the encode alone, not the wait for the lock.
   */
  MtmdResult Encode(mtmd_batch *batch, const std::atomic<bool> &abort);

  /** [sync] Image-cache key prefix of an image's chunks: its content id and what the settings change in the pixels. */
  std::string CacheKey(const std::string &id, const ImageSettings &settings) const;

 private:
  Projector() = default;
  void FindVisionContext(const llama_model *model);
  static bool OnEval(struct ggml_tensor *, bool ask, void *ud);

  mtmd_context *ctx_ = nullptr;
  ProjectorInfo info_;
  std::vector<memory::DeviceBytes> memory_;
  // One encode at a time; the encoding request's abort flag is published for the graph callback.
  std::mutex encode_mu_;
  std::atomic<const std::atomic<bool> *> encode_abort_{nullptr};
  // The vision context when it is SmolVLM's (idefics3): per-image settings change its
  // preprocessing parameters for one tokenize call, under `preprocess_mu_`.
  clip_ctx *clip_ = nullptr;
  std::shared_mutex preprocess_mu_;    // shared: default settings; exclusive: while they are changed
  uint32_t default_longest_edge_ = 0;  // the clip context's own edge
  bool pixel_limits_ = false;          // imageMin/MaxTokens set at load: mtmd sizes images by pixel count
};

}  // namespace smolvlm
