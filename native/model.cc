#include "model.h"

#include "errors.h"
#include "gguf_check.h"
#include "log.h"
#include "rpc.h"

namespace smolvlm {
namespace {

/** llama.cpp's and mtmd's progress callbacks, mapped onto one 0..1 scale. */
struct ProgressScale {
  LoadProgress &progress;
  float offset = 0.f, scale = 1.f;

  static bool Callback(float p, void *ud) {
    auto *self = static_cast<ProgressScale *>(ud);
    if (self->progress.report) self->progress.report(self->offset + self->scale * p);
    return !self->progress.abort->load();
  }
};

}  // namespace

ModelHandle::~ModelHandle() {
  projector.reset();  // before the model it was made for
  if (model) llama_model_free(model);
}

std::shared_ptr<ModelHandle> LoadModel(const LoadOptions &opt, LoadProgress &progress) {
  auto h = std::make_shared<ModelHandle>();
  h->image_cache.SetMaxBytes(static_cast<size_t>(opt.image_cache_bytes));
  GgufFile text, proj;
  CheckModelFiles(opt, text, proj);
  h->loras = CheckLoras(opt);  // before any weight is read: a bad adapter fails fast
  const uint64_t model_bytes = FileSize(opt.model_path), proj_bytes = opt.mmproj_path.empty() ? 0 : FileSize(opt.mmproj_path);
  ProgressScale scale{progress};
  scale.scale = model_bytes + proj_bytes > 0 ? static_cast<float>(model_bytes) / static_cast<float>(model_bytes + proj_bytes) : 1.f;

  // remote devices after the file checks (a bad file fails without touching the network)
  const std::vector<ggml_backend_dev_t> remote = rpc::Connect(opt.rpc, opt.rpc_timeout_ms);
  h->rpc = opt.rpc;
  std::vector<ggml_backend_dev_t> devices;
  llama_model_params mp = ModelParams(opt, remote, &devices);
  mp.progress_callback = ProgressScale::Callback;
  mp.progress_callback_user_data = &scale;
  log::ClearLastError();
  h->model = llama_model_load_from_file(opt.model_path.c_str(), mp);
  if (!h->model) {
    if (progress.abort->load()) throw Error(code::ABORTED, "model load aborted");
    rpc::Check(h->rpc, "while loading the weights");
    std::string why = log::LastError();
    throw Error(code::MODEL_INVALID, "failed to load model " + opt.model_path + (why.empty() ? "" : ": " + why));
  }

  rpc::Check(h->rpc, "while loading the weights");
  LoadLoras(h->model, h->loras);
  if (progress.abort->load()) throw Error(code::ABORTED, "model load aborted");

  ModelMeta &m = h->meta;
  char buf[512];
  m.architecture = text.Str("general.architecture");
  m.name = text.Str("general.name");
  if (llama_model_desc(h->model, buf, sizeof buf) > 0) m.description = buf;
  if (const char *tmpl = llama_model_chat_template(h->model, nullptr)) m.chat_template = tmpl;
  m.n_params = llama_model_n_params(h->model);
  m.size_bytes = llama_model_size(h->model);
  m.n_ctx_train = llama_model_n_ctx_train(h->model);
  m.n_embd = llama_model_n_embd(h->model);
  m.n_layer = llama_model_n_layer(h->model);
  m.n_vocab = llama_vocab_n_tokens(h->vocab());
  m.bos = llama_vocab_bos(h->vocab());
  m.eos = llama_vocab_eos(h->vocab());
  m.marker = mtmd_default_marker();

  if (!opt.mmproj_path.empty()) {
    scale.offset = scale.scale;
    scale.scale = 1.f - scale.offset;
    try {
      h->projector = Projector::Load(opt, h->model, proj, ProgressScale::Callback, &scale);
    } catch (const Error &) {
      if (progress.abort->load()) throw Error(code::ABORTED, "model load aborted");
      throw;
    }
  }
  if (progress.report) progress.report(1.f);
  return h;
}

}  // namespace smolvlm
