// A parsed GGUF header (GgufView) and the strict reads the loader rules make of it: typed key
// reads and the set of tensors a loader will create, every failure an Error naming the key or
// tensor and the file. The rules themselves (which keys, ranges and shapes) are in gguf_rules.cc.
#pragma once
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "errors.h"
#include "gguf.h"

struct ggml_context;

namespace smolvlm {

/** A parsed header: the gguf context and the ggml context holding its tensors' metadata. */
struct GgufView {
  const gguf_context *gguf;
  ggml_context *meta;
  const std::string &path;
};

}  // namespace smolvlm

namespace smolvlm::gguf_keys {

/** A GGUF type's name, for messages. */
const char *TypeName(int t);

/** Typed reads of one file's keys; every failure names the key and the file. */
class Keys {
 public:
  Keys(const GgufView &f, const char *what, const char *code) : f_(f), what_(what), code_(code) {}

  [[noreturn]] void Fail(const std::string &msg) const {
    throw Error(code_, std::string(what_) + " " + msg + ": " + f_.path);
  }
  int64_t Id(const std::string &key) const { return gguf_find_key(f_.gguf, key.c_str()); }
  bool Has(const std::string &key) const { return Id(key) >= 0; }

  int64_t IdOf(const std::string &key, gguf_type type, bool required) const {
    int64_t id = Id(key);
    if (id < 0) {
      if (required) Fail("has no key " + key);
      return -1;
    }
    const int t = gguf_get_kv_type(f_.gguf, id);
    if (t != type) Fail("key " + key + " has type " + TypeName(t) + ", expected " + TypeName(type));
    return id;
  }
  /** A uint32 key (llama's loader also takes int32 for some, clip only uint32). */
  int64_t U32(const std::string &key, bool required, int64_t dflt = -1) const {
    int64_t id = IdOf(key, GGUF_TYPE_UINT32, required);
    return id < 0 ? dflt : gguf_get_val_u32(f_.gguf, id);
  }
  double F32(const std::string &key, bool required, double dflt = NAN) const {
    int64_t id = IdOf(key, GGUF_TYPE_FLOAT32, required);
    return id < 0 ? dflt : gguf_get_val_f32(f_.gguf, id);
  }
  bool Bool(const std::string &key, bool required, bool dflt = false) const {
    int64_t id = IdOf(key, GGUF_TYPE_BOOL, required);
    return id < 0 ? dflt : gguf_get_val_bool(f_.gguf, id);
  }
  std::string Str(const std::string &key, bool required) const {
    int64_t id = IdOf(key, GGUF_TYPE_STRING, required);
    return id < 0 ? "" : gguf_get_val_str(f_.gguf, id);
  }
  /** An array key whose elements have `elem`; returns its length, -1 when absent. */
  int64_t Arr(const std::string &key, gguf_type elem, bool required) const {
    int64_t id = IdOf(key, GGUF_TYPE_ARRAY, required);
    if (id < 0) return -1;
    const int t = gguf_get_arr_type(f_.gguf, id);
    if (t != elem) Fail("key " + key + " is an array of " + TypeName(t) + ", expected " + TypeName(elem));
    return static_cast<int64_t>(gguf_get_arr_n(f_.gguf, id));
  }
  /** A uint32 scalar or a per-layer array of (u)int32 of length n_layer (llama's get_key_or_arr). */
  std::vector<int64_t> PerLayer(const std::string &key, bool required, int64_t n_layer, int64_t dflt) const;

  void Positive(const std::string &key, int64_t v) const {
    if (v <= 0) Fail("key " + key + " is " + std::to_string(v) + ", expected > 0");
  }
  void PositiveFinite(const std::string &key, double v, bool allow_zero = false) const {
    if (!std::isfinite(v) || v < 0 || (!allow_zero && v == 0)) {
      Fail("key " + key + " is " + std::to_string(v) + ", expected a finite number " + (allow_zero ? ">= 0" : "> 0"));
    }
  }

 private:
  const GgufView &f_;
  const char *what_;
  const char *code_;
};

/** The tensors a loader will create: name -> shape; checks presence, extras and shapes. */
class TensorPlan {
 public:
  void Need(const std::string &name, std::vector<int64_t> ne) { want_[name] = {std::move(ne), true}; }
  void Allow(const std::string &name, std::vector<int64_t> ne) { want_[name] = {std::move(ne), false}; }

  /** Fails (through `keys`) on a duplicate, unexpected, missing or misshapen tensor. */
  void Check(const GgufView &f, const Keys &keys) const;

 private:
  struct Spec {
    std::vector<int64_t> ne;
    bool required;
  };
  std::map<std::string, Spec> want_;
};

}  // namespace smolvlm::gguf_keys
