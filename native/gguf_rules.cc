// Both loaders' rules in one file: each rule sits next to the key it reads, in the order
// llama-model.cpp and clip.cpp read them, so a reader can compare each with its loader. The strict
// reads they use (typed keys, the tensor plan) are in gguf_keys.{h,cc}.
#include "gguf_rules.h"

#include <cmath>
#include <set>
#include <vector>

#include "errors.h"
#include "gguf_keys.h"

namespace smolvlm {
namespace {

using gguf_keys::Keys;
using gguf_keys::TensorPlan;

constexpr int64_t kMaxLayers = 512;  // LLAMA_MAX_LAYERS

std::string Blk(const char *prefix, int64_t i, const char *rest) {
  return std::string(prefix) + std::to_string(i) + "." + rest;
}

}  // namespace

TextModelFacts CheckTextModelRules(const GgufView &f) {
  Keys k(f, "model", code::MODEL_INVALID);
  const std::string arch = k.Str("general.architecture", true);
  if (arch != "llama") k.Fail("has architecture '" + arch + "'; this build supports SmolVLM's 'llama' text model only");
  const std::string a = arch + ".";

  if (k.Has("general.alignment")) {
    const int64_t al = k.U32("general.alignment", true);
    if (al < 32 || (al & (al - 1)) != 0) k.Fail("key general.alignment is " + std::to_string(al) + ", expected a power of two >= 32");
  }
  const int64_t n_ctx = k.U32(a + "context_length", true);
  k.Positive(a + "context_length", n_ctx);
  const int64_t n_embd = k.U32(a + "embedding_length", true);
  k.Positive(a + "embedding_length", n_embd);
  const int64_t n_layer = k.U32(a + "block_count", true);
  if (n_layer < 1 || n_layer > kMaxLayers) {
    k.Fail("key " + a + "block_count is " + std::to_string(n_layer) + ", expected 1.." + std::to_string(kMaxLayers));
  }
  const int64_t nextn = k.U32(a + "nextn_predict_layers", false, 0);
  if (nextn != 0) k.Fail("key " + a + "nextn_predict_layers is " + std::to_string(nextn) + ", expected 0 (no MTP layers in SmolVLM)");
  const int64_t n_expert = k.U32(a + "expert_count", false, 0);
  if (n_expert != 0) k.Fail("key " + a + "expert_count is " + std::to_string(n_expert) + ", expected 0 (a dense model)");
  const int64_t n_expert_used = k.U32(a + "expert_used_count", false, 0);
  if (n_expert_used != 0) k.Fail("key " + a + "expert_used_count is " + std::to_string(n_expert_used) + ", expected 0 (a dense model)");

  const auto n_ff = k.PerLayer(a + "feed_forward_length", true, n_layer, 0);
  const auto n_head = k.PerLayer(a + "attention.head_count", true, n_layer, 0);
  const auto n_head_kv = k.PerLayer(a + "attention.head_count_kv", false, n_layer, -1);
  for (int64_t i = 0; i < n_layer; ++i) {
    if (n_ff[i] <= 0) k.Fail("key " + a + "feed_forward_length is " + std::to_string(n_ff[i]) + " for block " + std::to_string(i) + ", expected > 0");
    if (n_head[i] <= 0) k.Fail("key " + a + "attention.head_count is " + std::to_string(n_head[i]) + " for block " + std::to_string(i) + ", expected > 0");
  }
  const int64_t n_head0 = n_head[0];
  for (int64_t i = 0; i < n_layer; ++i) {
    if (n_head[i] != n_head0) k.Fail("key " + a + "attention.head_count differs between blocks; SmolVLM's llama has one head count");
  }
  if (n_embd % n_head0 != 0 && !k.Has(a + "attention.key_length")) {
    k.Fail("key " + a + "embedding_length " + std::to_string(n_embd) + " is not a multiple of attention.head_count " + std::to_string(n_head0));
  }
  const int64_t dflt_head = n_embd / n_head0;
  const int64_t hk = k.U32(a + "attention.key_length", false, dflt_head);
  const int64_t hv = k.U32(a + "attention.value_length", false, dflt_head);
  k.Positive(a + "attention.key_length", hk);
  k.Positive(a + "attention.value_length", hv);
  std::vector<int64_t> kv(n_layer);
  for (int64_t i = 0; i < n_layer; ++i) {
    kv[i] = n_head_kv[i] < 0 ? n_head[i] : n_head_kv[i];
    if (kv[i] <= 0 || n_head[i] % kv[i] != 0) {
      k.Fail("key " + a + "attention.head_count_kv is " + std::to_string(kv[i]) + ", expected > 0 and dividing attention.head_count " + std::to_string(n_head[i]));
    }
  }
  const int64_t n_rot = k.U32(a + "rope.dimension_count", false, hk);
  if (n_rot <= 0 || n_rot > hk || n_rot % 2 != 0) {
    k.Fail("key " + a + "rope.dimension_count is " + std::to_string(n_rot) + ", expected an even number in 2.." + std::to_string(hk));
  }
  if (k.Has(a + "rope.freq_base")) k.PositiveFinite(a + "rope.freq_base", k.F32(a + "rope.freq_base", true));
  if (k.Has(a + "rope.freq_scale")) k.PositiveFinite(a + "rope.freq_scale", k.F32(a + "rope.freq_scale", true));
  if (k.Has(a + "rope.scaling.factor")) k.PositiveFinite(a + "rope.scaling.factor", k.F32(a + "rope.scaling.factor", true), true);
  if (k.Has(a + "rope.scaling.type")) {
    const std::string t = k.Str(a + "rope.scaling.type", true);
    if (t != "none" && t != "linear" && t != "yarn" && t != "longrope") {
      k.Fail("key " + a + "rope.scaling.type is '" + t + "', expected none, linear, yarn or longrope");
    }
  }
  k.PositiveFinite(a + "attention.layer_norm_rms_epsilon", k.F32(a + "attention.layer_norm_rms_epsilon", true));

  // Vocabulary (llama-vocab.cpp).
  const std::string tok_model = k.Str("tokenizer.ggml.model", true);
  if (tok_model != "gpt2" && tok_model != "llama") {
    k.Fail("key tokenizer.ggml.model is '" + tok_model + "', expected 'gpt2' (SmolVLM's BPE) or 'llama'");
  }
  if (k.Has("tokenizer.ggml.pre")) k.Str("tokenizer.ggml.pre", true);
  const int64_t n_vocab = k.Arr("tokenizer.ggml.tokens", GGUF_TYPE_STRING, true);
  if (n_vocab <= 0) k.Fail("key tokenizer.ggml.tokens is empty");
  {
    const int64_t id = k.Id("tokenizer.ggml.tokens");
    std::set<std::string> uniq;
    for (int64_t i = 0; i < n_vocab; ++i) {
      if (!uniq.insert(gguf_get_arr_str(f.gguf, id, i)).second) {
        k.Fail("key tokenizer.ggml.tokens has the token '" + std::string(gguf_get_arr_str(f.gguf, id, i)) + "' twice (id " + std::to_string(i) + ")");
      }
    }
  }
  if (k.Has("tokenizer.ggml.token_type")) {
    const int64_t n = k.Arr("tokenizer.ggml.token_type", GGUF_TYPE_INT32, true);
    if (n != n_vocab) k.Fail("key tokenizer.ggml.token_type has " + std::to_string(n) + " entries, expected " + std::to_string(n_vocab));
    const auto *types = static_cast<const int32_t *>(gguf_get_arr_data(f.gguf, k.Id("tokenizer.ggml.token_type")));
    for (int64_t i = 0; i < n; ++i) {
      if (types[i] < 1 || types[i] > 6) k.Fail("key tokenizer.ggml.token_type is " + std::to_string(types[i]) + " for token " + std::to_string(i) + ", expected 1..6");
    }
  }
  if (k.Has("tokenizer.ggml.merges")) {
    const int64_t n = k.Arr("tokenizer.ggml.merges", GGUF_TYPE_STRING, true);
    const int64_t id = k.Id("tokenizer.ggml.merges");
    for (int64_t i = 0; i < n; ++i) {
      const std::string m = gguf_get_arr_str(f.gguf, id, i);
      const size_t sp = m.find(' ', 1);
      if (sp == std::string::npos || sp + 1 >= m.size()) k.Fail("key tokenizer.ggml.merges entry " + std::to_string(i) + " ('" + m + "') is not two tokens separated by a space");
    }
  } else if (tok_model == "gpt2") {
    k.Fail("has no key tokenizer.ggml.merges (a gpt2 tokenizer needs them)");
  }
  if (k.Has(a + "vocab_size")) {
    const int64_t vs = k.U32(a + "vocab_size", true);
    if (vs != n_vocab) k.Fail("key " + a + "vocab_size is " + std::to_string(vs) + ", expected " + std::to_string(n_vocab) + " (the token count)");
  }
  for (const char *special : {"bos", "eos", "unknown", "separator", "padding", "cls", "mask", "eot", "eom"}) {
    const std::string key = std::string("tokenizer.ggml.") + special + "_token_id";
    if (!k.Has(key)) continue;
    const int64_t v = k.U32(key, true);
    if (v >= n_vocab) k.Fail("key " + key + " is " + std::to_string(v) + ", expected a token id below " + std::to_string(n_vocab));
  }
  for (const char *b : {"tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token", "tokenizer.ggml.add_space_prefix"}) {
    if (k.Has(b)) k.Bool(b, true);
  }
  if (k.Has("tokenizer.chat_template")) k.Str("tokenizer.chat_template", true);

  // Tensors (llama-model.cpp, LLM_ARCH_LLAMA).
  TensorPlan plan;
  plan.Need("token_embd.weight", {n_embd, n_vocab});
  plan.Need("output_norm.weight", {n_embd});
  plan.Allow("output.weight", {n_embd, n_vocab});
  plan.Allow("rope_freqs.weight", {n_rot / 2});
  for (int64_t i = 0; i < n_layer; ++i) {
    const int64_t q = n_head[i] * hk, kk = kv[i] * hk, v = kv[i] * hv, o = n_head[i] * hv;
    plan.Need(Blk("blk.", i, "attn_norm.weight"), {n_embd});
    plan.Need(Blk("blk.", i, "attn_q.weight"), {n_embd, q});
    plan.Need(Blk("blk.", i, "attn_k.weight"), {n_embd, kk});
    plan.Need(Blk("blk.", i, "attn_v.weight"), {n_embd, v});
    plan.Need(Blk("blk.", i, "attn_output.weight"), {o, n_embd});
    plan.Allow(Blk("blk.", i, "attn_q.bias"), {q});
    plan.Allow(Blk("blk.", i, "attn_k.bias"), {kk});
    plan.Allow(Blk("blk.", i, "attn_v.bias"), {v});
    plan.Allow(Blk("blk.", i, "attn_output.bias"), {n_embd});
    plan.Need(Blk("blk.", i, "ffn_norm.weight"), {n_embd});
    plan.Need(Blk("blk.", i, "ffn_gate.weight"), {n_embd, n_ff[i]});
    plan.Need(Blk("blk.", i, "ffn_up.weight"), {n_embd, n_ff[i]});
    plan.Need(Blk("blk.", i, "ffn_down.weight"), {n_ff[i], n_embd});
    plan.Allow(Blk("blk.", i, "ffn_gate.bias"), {n_ff[i]});
    plan.Allow(Blk("blk.", i, "ffn_up.bias"), {n_ff[i]});
    plan.Allow(Blk("blk.", i, "ffn_down.bias"), {n_embd});
  }
  plan.Check(f, k);
  return TextModelFacts{n_embd};
}

void CheckProjectorRules(const GgufView &f, const TextModelFacts &text) {
  Keys k(f, "projector", code::MODEL_INVALID);
  Keys mismatch(f, "projector", code::PROJECTOR_MISMATCH);
  // Every key clip_model_loader reads on this path, with the type it reads it as.
  for (const char *s : {"general.name", "general.description", "clip.vision.projector_type", "clip.vision.mm_patch_merge_type"}) {
    if (k.Has(s)) k.Str(s, true);
  }
  for (const char *b : {"clip.has_text_encoder", "clip.has_audio_encoder", "clip.has_gen_audio_encoder", "clip.use_gelu", "clip.use_silu"}) {
    if (k.Has(b)) k.Bool(b, true);
  }
  if (k.Has("clip.vision.image_grid_pinpoints")) k.Arr("clip.vision.image_grid_pinpoints", GGUF_TYPE_INT32, true);
  if (k.Has("clip.minicpmv_version")) k.IdOf("clip.minicpmv_version", GGUF_TYPE_INT32, true);
  if (k.Has("clip.minicpmv_query_num")) k.U32("clip.minicpmv_query_num", true);

  const std::string ptype = k.Str("clip.projector_type", true);
  if (ptype != "idefics3") {
    mismatch.Fail("has projector_type '" + ptype + "'; this build supports SmolVLM's 'idefics3' projector only");
  }
  if (!k.Bool("clip.has_vision_encoder", true)) mismatch.Fail("has no vision encoder (clip.has_vision_encoder is false)");

  const std::string v = "clip.vision.";
  const int64_t n_embd = k.U32(v + "embedding_length", true);
  k.Positive(v + "embedding_length", n_embd);
  const int64_t n_head = k.U32(v + "attention.head_count", true);
  k.Positive(v + "attention.head_count", n_head);
  if (n_embd % n_head != 0) {
    k.Fail("key " + v + "embedding_length " + std::to_string(n_embd) + " is not a multiple of attention.head_count " + std::to_string(n_head));
  }
  const int64_t head_dim = k.U32(v + "attention.head_dim", false, n_embd / n_head);
  if (head_dim != n_embd / n_head) {
    k.Fail("key " + v + "attention.head_dim is " + std::to_string(head_dim) + ", expected " + std::to_string(n_embd / n_head) + " (embedding_length / head_count)");
  }
  const int64_t n_head_kv = k.U32(v + "attention.head_count_kv", false, n_head);
  if (n_head_kv != n_head) {
    k.Fail("key " + v + "attention.head_count_kv is " + std::to_string(n_head_kv) + ", expected " + std::to_string(n_head) + " (attention.head_count)");
  }
  const int64_t n_ff = k.U32(v + "feed_forward_length", true);
  k.Positive(v + "feed_forward_length", n_ff);
  const int64_t n_layer = k.U32(v + "block_count", true);
  if (n_layer < 1 || n_layer > kMaxLayers) {
    k.Fail("key " + v + "block_count is " + std::to_string(n_layer) + ", expected 1.." + std::to_string(kMaxLayers));
  }
  const int64_t proj_dim = k.U32(v + "projection_dim", true);
  if (proj_dim != text.n_embd) {
    mismatch.Fail("does not match the model: it projects to " + std::to_string(proj_dim) + " dimensions (" + v +
                  "projection_dim), the model's embedding length is " + std::to_string(text.n_embd));
  }
  k.PositiveFinite(v + "attention.layer_norm_epsilon", k.F32(v + "attention.layer_norm_epsilon", true));

  const int64_t image_size = k.U32(v + "image_size", true);
  const int64_t patch = k.U32(v + "patch_size", true);
  k.Positive(v + "patch_size", patch);
  // Not necessarily a multiple: clip.cpp counts image_size / patch_size patches per side (integer
  // division; the patch convolution drops the remainder), as SmolVLM-Instruct's 384-pixel tiles of
  // 14-pixel patches (27 x 27) need.
  if (image_size < patch) {
    k.Fail("key " + v + "image_size is " + std::to_string(image_size) + ", expected at least patch_size " + std::to_string(patch));
  }
  const int64_t side = image_size / patch;
  const int64_t scale = k.U32(v + "projector.scale_factor", true);
  if (scale <= 1 || side % scale != 0) {
    k.Fail("key " + v + "projector.scale_factor is " + std::to_string(scale) + ", expected > 1 and dividing image_size/patch_size " + std::to_string(side));
  }
  if (k.Has(v + "preproc_image_size")) {
    const int64_t pre = k.U32(v + "preproc_image_size", true);
    if (pre < image_size) k.Fail("key " + v + "preproc_image_size is " + std::to_string(pre) + ", expected >= image_size " + std::to_string(image_size));
  }
  for (const char *key : {"clip.vision.image_mean", "clip.vision.image_std"}) {
    const int64_t n = k.Arr(key, GGUF_TYPE_FLOAT32, true);
    if (n != 3) k.Fail("key " + std::string(key) + " has " + std::to_string(n) + " entries, expected 3");
    const auto *vals = static_cast<const float *>(gguf_get_arr_data(f.gguf, k.Id(key)));
    const bool is_std = std::string(key).find("std") != std::string::npos;
    for (int i = 0; i < 3; ++i) {
      if (!std::isfinite(vals[i]) || (is_std && vals[i] <= 0)) {
        k.Fail("key " + std::string(key) + " has " + std::to_string(vals[i]) + ", expected finite" + (is_std ? " and > 0" : "") + " values");
      }
    }
  }
  if (k.Has(v + "feature_layer")) {
    const int64_t n = k.Arr(v + "feature_layer", GGUF_TYPE_INT32, true);
    const auto *vals = static_cast<const int32_t *>(gguf_get_arr_data(f.gguf, k.Id(v + "feature_layer")));
    for (int64_t i = 0; i < n; ++i) {
      if (vals[i] < 0 || vals[i] > n_layer) k.Fail("key " + v + "feature_layer has " + std::to_string(vals[i]) + ", expected 0.." + std::to_string(n_layer));
    }
  }

  // Tensors (clip.cpp load_tensors + the idefics3 graph).
  TensorPlan plan;
  plan.Need("v.patch_embd.weight", {patch, patch, 3, n_embd});
  plan.Need("v.patch_embd.bias", {n_embd});
  plan.Need("v.position_embd.weight", {n_embd, side * side});
  plan.Need("v.post_ln.weight", {n_embd});
  plan.Need("v.post_ln.bias", {n_embd});
  plan.Need("mm.model.fc.weight", {n_embd * scale * scale, proj_dim});
  for (int64_t i = 0; i < n_layer; ++i) {
    for (const char *t : {"attn_q", "attn_k", "attn_v", "attn_out"}) {
      plan.Need(Blk("v.blk.", i, (std::string(t) + ".weight").c_str()), {n_embd, n_embd});
      plan.Need(Blk("v.blk.", i, (std::string(t) + ".bias").c_str()), {n_embd});
    }
    for (const char *t : {"ln1", "ln2"}) {
      plan.Need(Blk("v.blk.", i, (std::string(t) + ".weight").c_str()), {n_embd});
      plan.Need(Blk("v.blk.", i, (std::string(t) + ".bias").c_str()), {n_embd});
    }
    plan.Need(Blk("v.blk.", i, "ffn_up.weight"), {n_embd, n_ff});
    plan.Need(Blk("v.blk.", i, "ffn_up.bias"), {n_ff});
    plan.Need(Blk("v.blk.", i, "ffn_down.weight"), {n_ff, n_embd});
    plan.Need(Blk("v.blk.", i, "ffn_down.bias"), {n_embd});
  }
  plan.Check(f, k);
}

}  // namespace smolvlm
