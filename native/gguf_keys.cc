#include "gguf_keys.h"

#include <set>

#include "ggml.h"

namespace smolvlm::gguf_keys {

const char *TypeName(int t) {
  static const char *names[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
                                "bool",  "string", "array", "uint64", "int64", "float64"};
  return t >= 0 && t < GGUF_TYPE_COUNT ? names[t] : "unknown";
}

namespace {

/** "[a,b,c]" */
std::string ShapeStr(const std::vector<int64_t> &ne) {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? "," : "") + std::to_string(ne[i]);
  return s + "]";
}

}  // namespace

std::vector<int64_t> Keys::PerLayer(const std::string &key, bool required, int64_t n_layer, int64_t dflt) const {
  int64_t id = Id(key);
  if (id < 0) {
    if (required) Fail("has no key " + key);
    return std::vector<int64_t>(n_layer, dflt);
  }
  if (gguf_get_kv_type(f_.gguf, id) != GGUF_TYPE_ARRAY) return std::vector<int64_t>(n_layer, U32(key, true));
  const int t = gguf_get_arr_type(f_.gguf, id);
  if (t != GGUF_TYPE_UINT32 && t != GGUF_TYPE_INT32) {
    Fail("key " + key + " is an array of " + std::string(TypeName(t)) + ", expected uint32 or int32");
  }
  const int64_t n = gguf_get_arr_n(f_.gguf, id);
  if (n != n_layer) Fail("key " + key + " has " + std::to_string(n) + " entries, expected block_count " + std::to_string(n_layer));
  std::vector<int64_t> out(n);
  const void *data = gguf_get_arr_data(f_.gguf, id);
  for (int64_t i = 0; i < n; ++i) {
    out[i] = t == GGUF_TYPE_UINT32 ? static_cast<const uint32_t *>(data)[i] : static_cast<const int32_t *>(data)[i];
  }
  return out;
}

void TensorPlan::Check(const GgufView &f, const Keys &keys) const {
  std::set<std::string> seen;
  const int64_t n = gguf_get_n_tensors(f.gguf);
  for (int64_t i = 0; i < n; ++i) {
    const std::string name = gguf_get_tensor_name(f.gguf, i);
    if (!seen.insert(name).second) keys.Fail("has the tensor " + name + " twice");
    auto it = want_.find(name);
    if (it == want_.end()) keys.Fail("has a tensor the loader does not expect: " + name);
    const ggml_tensor *t = ggml_get_tensor(f.meta, name.c_str());
    if (!t) keys.Fail("has a tensor without metadata: " + name);
    const auto &ne = it->second.ne;
    std::vector<int64_t> got;
    for (int d = 0; d < GGML_MAX_DIMS; ++d) got.push_back(t->ne[d]);
    std::vector<int64_t> exp = ne;
    exp.resize(GGML_MAX_DIMS, 1);
    if (got != exp) {
      while (got.size() > ne.size() && got.back() == 1) got.pop_back();
      keys.Fail("tensor " + name + " has shape " + ShapeStr(got) + ", expected " + ShapeStr(ne));
    }
  }
  for (const auto &[name, spec] : want_) {
    if (spec.required && !seen.count(name)) keys.Fail("has no tensor " + name + " (expected shape " + ShapeStr(spec.ne) + ")");
  }
}

}  // namespace smolvlm::gguf_keys
