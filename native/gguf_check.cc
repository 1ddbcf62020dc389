#include "gguf_check.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "errors.h"
#include "ggml.h"
#include "gguf_rules.h"
#include "log.h"

namespace smolvlm {
namespace {

void CheckReadable(const std::string &path, const char *what) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw Error(code::MODEL_NOT_FOUND, std::string(what) + " not found: " + path);
    throw Error(code::MODEL_UNREADABLE, std::string(what) + " cannot be read: " + path + " (" + strerror(errno) + ")");
  }
  if (S_ISDIR(st.st_mode)) throw Error(code::MODEL_UNREADABLE, std::string(what) + " is a directory, not a GGUF file: " + path);
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(code::MODEL_UNREADABLE, std::string(what) + " cannot be opened: " + path + " (" + strerror(errno) + ")");
  char magic[4] = {};
  f.read(magic, 4);
  if (f.gcount() != 4 || std::string(magic, 4) != "GGUF") {
    throw Error(code::NOT_GGUF, std::string(what) + " is not a GGUF file (bad magic): " + path);
  }
}

}  // namespace

GgufFile::~GgufFile() {
  if (ctx_) gguf_free(ctx_);
  if (meta_) ggml_free(meta_);
}

const ggml_tensor *GgufFile::Tensor(const char *name) const { return meta_ ? ggml_get_tensor(meta_, name) : nullptr; }

void GgufFile::Open(const std::string &path, const char *what) {
  log::ClearLastError();
  path_ = path;
  gguf_init_params params{/*no_alloc*/ true, /*ctx*/ &meta_};
  ctx_ = gguf_init_from_file(path.c_str(), params);
  if (!ctx_) {
    std::string why = log::LastError();
    throw Error(code::MODEL_INVALID, std::string(what) + " is truncated or corrupt: " + path + (why.empty() ? "" : " (" + why + ")"));
  }
}

std::string GgufFile::Str(const char *key) const {
  int64_t id = gguf_find_key(ctx_, key);
  return id >= 0 && gguf_get_kv_type(ctx_, id) == GGUF_TYPE_STRING ? gguf_get_val_str(ctx_, id) : "";
}

int64_t GgufFile::U32(const char *key) const {
  int64_t id = gguf_find_key(ctx_, key);
  if (id < 0) return -1;
  switch (gguf_get_kv_type(ctx_, id)) {
    case GGUF_TYPE_UINT32: return gguf_get_val_u32(ctx_, id);
    case GGUF_TYPE_INT32: return gguf_get_val_i32(ctx_, id);
    default: return -1;
  }
}

bool GgufFile::Has(const char *key) const { return gguf_find_key(ctx_, key) >= 0; }

void CheckModelFiles(const LoadOptions &opt, GgufFile &text, GgufFile &proj) {
  CheckReadable(opt.model_path, "model");
  text.Open(opt.model_path, "model");
  const std::string arch = text.Str("general.architecture");
  if (arch.empty()) throw Error(code::MODEL_INVALID, "model has no general.architecture: " + opt.model_path);
  if (arch == "clip") {
    throw Error(code::MODEL_INVALID, "model file is a projector (mmproj), not a language model: " + opt.model_path +
                                         " (pass it as mmproj)");
  }
  const TextModelFacts facts = CheckTextModelRules(text.View());

  if (opt.mmproj_path.empty()) return;
  CheckReadable(opt.mmproj_path, "projector");
  proj.Open(opt.mmproj_path, "projector");
  const std::string parch = proj.Str("general.architecture");
  if (parch != "clip") {
    throw Error(code::PROJECTOR_MISMATCH, "projector file is not a vision projector (general.architecture is '" + parch +
                                              "', expected 'clip'): " + opt.mmproj_path);
  }
  CheckProjectorRules(proj.View(), facts);
}

namespace {

bool EndsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string Shape(const ggml_tensor *t) {
  std::string out = "[";
  for (int i = 0; i < GGML_MAX_DIMS && (i < 2 || t->ne[i] != 1); i++) out += (i ? ", " : "") + std::to_string(t->ne[i]);
  return out + "]";
}

}  // namespace

LoraFileInfo CheckLoraFile(const std::string &path, const GgufFile &base) {
  CheckReadable(path, "LoRA adapter");
  GgufFile f;
  f.Open(path, "LoRA adapter");
  gguf_context *g = f.ctx();
  const std::string where = " (" + path + ")";
  // llama.cpp reads these keys with asserting getters: a key of another type would end the process
  auto string_key = [&](const char *key) -> std::string {
    const int64_t id = gguf_find_key(g, key);
    if (id < 0) return "";
    if (gguf_get_kv_type(g, id) != GGUF_TYPE_STRING) throw Error(code::MODEL_INVALID, std::string("LoRA adapter's ") + key + " is not a string" + where);
    return gguf_get_val_str(g, id);
  };
  const std::string type = string_key("general.type");
  if (type != "adapter") {
    throw Error(code::MODEL_INVALID, "not a LoRA adapter: general.type is '" + type + "', expected 'adapter'" + where);
  }
  const std::string adapter_type = string_key("adapter.type");
  if (adapter_type != "lora") {
    throw Error(code::MODEL_INVALID, "not a LoRA adapter: adapter.type is '" + adapter_type + "', expected 'lora'" + where);
  }
  const std::string arch = string_key("general.architecture"), base_arch = base.Str("general.architecture");
  if (arch != base_arch) {
    throw Error(code::MODEL_INVALID, "LoRA adapter is for architecture '" + arch + "', the model is '" + base_arch + "' (wrong base model?)" + where);
  }
  LoraFileInfo info;
  const int64_t alpha_id = gguf_find_key(g, "adapter.lora.alpha");
  if (alpha_id >= 0) {
    if (gguf_get_kv_type(g, alpha_id) != GGUF_TYPE_FLOAT32) throw Error(code::MODEL_INVALID, "LoRA adapter's adapter.lora.alpha is not a float32" + where);
    info.alpha = gguf_get_val_f32(g, alpha_id);
  }

  // A/B pairs by the name of the tensor they adapt, as llama_adapter_lora_init pairs them
  struct Pair { const ggml_tensor *a = nullptr, *b = nullptr; };
  std::vector<std::pair<std::string, Pair>> pairs;
  auto pair_of = [&](const std::string &name) -> Pair & {
    for (auto &p : pairs)
      if (p.first == name) return p.second;
    pairs.push_back({name, {}});
    return pairs.back().second;
  };
  const uint64_t file_size = FileSize(path);
  const size_t data_offset = gguf_get_data_offset(g);
  for (ggml_tensor *t = ggml_get_first_tensor(f.Tensors()); t; t = ggml_get_next_tensor(f.Tensors(), t)) {
    const std::string name = ggml_get_name(t);
    const int64_t ti = gguf_find_tensor(g, name.c_str());
    const uint64_t end = static_cast<uint64_t>(data_offset) + gguf_get_tensor_offset(g, ti) + ggml_nbytes(t);
    if (end > file_size) throw Error(code::MODEL_INVALID, "LoRA adapter is truncated: tensor '" + name + "' ends past the end of the file" + where);
    if (EndsWith(name, ".lora_a")) {
      pair_of(name.substr(0, name.size() - 7)).a = t;
    } else if (EndsWith(name, ".lora_b")) {
      pair_of(name.substr(0, name.size() - 7)).b = t;
    } else if (!EndsWith(name, "_norm.weight")) {  // norms: llama.cpp skips them
      throw Error(code::MODEL_INVALID, "LoRA adapter has tensor '" + name + "', neither .lora_a nor .lora_b" + where);
    }
  }
  if (pairs.empty()) throw Error(code::MODEL_INVALID, "LoRA adapter has no .lora_a/.lora_b tensors" + where);
  for (const auto &[name, p] : pairs) {
    if (!p.a || !p.b) throw Error(code::MODEL_INVALID, "LoRA adapter has only one of " + name + ".lora_a and .lora_b" + where);
    const ggml_tensor *w = base.Tensor(name.c_str());
    if (!w) throw Error(code::MODEL_INVALID, "LoRA adapter adapts '" + name + "', which the model does not have (wrong base model?)" + where);
    for (const ggml_tensor *t : {p.a, p.b}) {
      if (ggml_n_dims(t) > 2) throw Error(code::MODEL_INVALID, "LoRA tensor '" + std::string(ggml_get_name(t)) + "' is not a matrix: " + Shape(t) + where);
      if (t->type != GGML_TYPE_F32 && t->type != GGML_TYPE_F16 && t->type != GGML_TYPE_BF16 && t->type != GGML_TYPE_Q8_0) {
        throw Error(code::MODEL_INVALID, "LoRA tensor '" + std::string(ggml_get_name(t)) + "' has type " + ggml_type_name(t->type) +
                                             " (supported: f32, f16, bf16, q8_0)" + where);
      }
    }
    const bool embd = EndsWith(name, "token_embd.weight");  // A and B flipped (llm_build_inp_embd)
    const bool fits = embd ? w->ne[0] == p.b->ne[1] && w->ne[1] == p.a->ne[1] && p.a->ne[0] == p.b->ne[0]
                           : w->ne[0] == p.a->ne[0] && w->ne[1] == p.b->ne[1] && p.a->ne[1] == p.b->ne[0];
    if (!fits) {
      throw Error(code::MODEL_INVALID, "LoRA tensors for '" + name + "' have shapes " + Shape(p.a) + " and " + Shape(p.b) +
                                           ", which do not fit the model's " + Shape(w) + " (wrong base model?)" + where);
    }
    info.bytes += ggml_nbytes(p.a) + ggml_nbytes(p.b);
    info.tensors++;
  }
  return info;
}

uint64_t FileSize(const std::string &path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

}  // namespace smolvlm
