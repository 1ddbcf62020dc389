#include "gguf_check.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

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

uint64_t FileSize(const std::string &path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

}  // namespace smolvlm
