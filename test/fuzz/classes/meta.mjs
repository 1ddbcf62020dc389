// meta: targeted edits of the hyperparameters and tensors llama.cpp reads, on the tiny fixture's
// model (llama architecture: llama_model_base::load_hparams and llama_model_llama in
// deps/llama.cpp/src) and projector (clip.cpp load_hparams / load_tensors, idefics3 path).
// The file stays well-formed GGUF; its meaning breaks. Then loadModel and one short generation.
//
// The first EDITS.length indexes of a seed visit the whole list once (in an order of the seed);
// later indexes combine one to three random edits of numeric keys and tensor dims.
// `expect: 'reject'` marks edits that make the pair inconsistent beyond doubt (the validation
// issue 14 asks for must refuse them); a load that accepts one is a 'wrong' outcome.
//
// Tiny fixture (synth.mjs): text n_embd 128, 3 layers, 2 heads, 1 kv head, head dim 64, n_ff 256,
// vocab 49280; vision n_embd 128, n_ff 256, 2 layers, 2 heads, image 128, patch 16, scale 4,
// mm.model.fc.weight [2048, 128], preproc 256.

import { MODEL_CODES } from '../kit.mjs';
import { ValueType, cloneDoc, findKv, findTensor, loadDoc, removeKv, setKv, writeDoc } from '../gguf-doc.mjs';
import { listSlot } from '../prng.mjs';
import { testImage, tryFiles } from './files.mjs';

const u32 = (value) => ({ type: ValueType.UINT32, value });
const i32 = (value) => ({ type: ValueType.INT32, value });
const u64 = (value) => ({ type: ValueType.UINT64, value });
const f32 = (value) => ({ type: ValueType.FLOAT32, value });
const f64 = (value) => ({ type: ValueType.FLOAT64, value });
const bool = (value) => ({ type: ValueType.BOOL, value });
const str = (value) => ({ type: ValueType.STRING, value });
const arr = (itemType, value) => ({ type: ValueType.ARRAY, itemType, value });
const U32_MAX = 0xffffffff;

const show = (typed) => {
  if (typed.type === ValueType.ARRAY) return typed.value.length > 6 ? `[${typed.value.length} items]` : `[${typed.value.join(', ')}]`;
  if (typed.type === ValueType.STRING) return JSON.stringify(typed.value.length > 40 ? `${typed.value.slice(0, 20)}...(${typed.value.length})` : typed.value);
  const t = { [ValueType.INT32]: ' (i32)', [ValueType.UINT64]: ' (u64)', [ValueType.FLOAT32]: ' (f32)', [ValueType.FLOAT64]: ' (f64)' }[typed.type] ?? '';
  return `${typed.value}${t}`;
};

// Edit builders: { target, label, expect, apply(doc) }.
const R = 'reject';
const A = 'any';
const kv = (target, key, typed, expect) => ({ target, label: `${key} = ${show(typed)}`, key, expect, apply: (d) => setKv(d, key, typed) });
const drop = (target, key, expect) => ({ target, label: `${key} removed`, key, expect, apply: (d) => removeKv(d, key) });
const shape = (target, name, ne, expect) => ({
  target, label: `${name} shape [${ne}]`, key: name, expect,
  apply: (d) => { findTensor(d, name).shape = ne; },
});
const ttype = (target, name, type, expect) => ({
  target, label: `${name} type ${type}`, key: name, expect,
  apply: (d) => { findTensor(d, name).type = type; },
});
const dropTensor = (target, name, expect) => ({
  target, label: `tensor ${name} removed`, key: name, expect,
  apply: (d) => { d.tensors = d.tensors.filter((t) => t.name !== name); },
});
const rename = (target, from, to, expect) => ({
  target, label: `tensor ${from} renamed to ${to}`, key: from, expect,
  apply: (d) => { findTensor(d, from).name = to; },
});
const custom = (target, label, expect, apply) => ({ target, label, key: label, expect, apply });
const values = (target, key, make, list) => list.map(([v, expect]) => kv(target, key, make(v), expect));

const M = 'model';
const P = 'mmproj';
const L = 'llama.';
const C = 'clip.vision.';

const PROJECTOR_TYPES = ['mlp', 'ldp', 'ldpv2', 'resampler', 'adapter', 'qwen2vl_merger', 'qwen2.5vl_merger', 'qwen3vl_merger',
  'gemma3', 'gemma3nv', 'pixtral', 'internvl', 'llama4', 'lfm2', 'kimivl', 'ultravox', 'qwen2a', 'voxtral', 'glm4v', 'cogvlm',
  'janus_pro', 'deepseekocr', 'minicpmv4_6', 'paddleocr', 'lightonocr', 'youtuvl', 'phi4', 'gemma4v'];

export const EDITS = [
  // --- text model: llama_model_base::load_hparams ---
  ...values(M, `${L}block_count`, u32, [[0, R], [1, R], [2, R], [4, R], [1000, R], [4096, R], [U32_MAX, R]]),
  kv(M, `${L}block_count`, str('3'), R),
  kv(M, `${L}block_count`, f32(3), R),
  kv(M, `${L}block_count`, i32(-1), R),
  kv(M, `${L}block_count`, u64(3), A),
  ...values(M, `${L}context_length`, u32, [[0, A], [1, A], [U32_MAX, A]]),
  ...values(M, `${L}embedding_length`, u32, [[0, R], [1, R], [127, R], [32, R], [256, R], [U32_MAX, R]]),
  ...values(M, `${L}feed_forward_length`, u32, [[0, R], [1, R], [255, R], [512, R], [U32_MAX, R]]),
  kv(M, `${L}feed_forward_length`, arr(ValueType.UINT32, [256, 256, 256]), A),
  kv(M, `${L}feed_forward_length`, arr(ValueType.UINT32, [256, 0, 256]), R),
  ...values(M, `${L}attention.head_count`, u32, [[0, R], [1, R], [3, R], [4, R], [1000, R], [U32_MAX, R]]),
  kv(M, `${L}attention.head_count`, arr(ValueType.UINT32, [2, 2, 2]), A),
  kv(M, `${L}attention.head_count`, arr(ValueType.UINT32, [2, 2]), R),
  kv(M, `${L}attention.head_count`, arr(ValueType.UINT32, [2, 0, 2]), R),
  ...values(M, `${L}attention.head_count_kv`, u32, [[0, R], [2, R], [3, R], [1000, R]]),
  kv(M, `${L}attention.head_count_kv`, arr(ValueType.UINT32, [1, 1, 1, 1, 1]), R),
  ...values(M, `${L}rope.freq_base`, f32, [[0, A], [-1, R], [NaN, R], [Infinity, R], [1e38, A]]),
  ...values(M, `${L}attention.layer_norm_rms_epsilon`, f32, [[0, R], [-1e-5, R], [NaN, R], [Infinity, R], [1e30, A], [1e-45, A]]),
  kv(M, `${L}attention.layer_norm_rms_epsilon`, f64(1e-5), R),
  drop(M, `${L}attention.layer_norm_rms_epsilon`, R),
  ...values(M, `${L}attention.key_length`, u32, [[0, R], [1, R], [63, R], [65, R], [128, R], [U32_MAX, R]]),
  ...values(M, `${L}attention.value_length`, u32, [[0, R], [32, R], [65, R], [128, R]]),
  ...values(M, `${L}rope.dimension_count`, u32, [[0, R], [1, R], [32, R], [63, R], [128, R]]),
  ...values(M, `${L}vocab_size`, u32, [[0, R], [1, R], [49279, R], [49281, R], [100000, R], [U32_MAX, R]]),
  drop(M, `${L}vocab_size`, A),
  ...values(M, `${L}expert_count`, u32, [[1, R], [2, R], [8, R], [1000, R], [U32_MAX, R]]),
  kv(M, `${L}expert_used_count`, u32(2), R),
  custom(M, `${L}expert_count = 8 and expert_used_count = 2 on a dense model`, R, (d) => {
    setKv(d, `${L}expert_count`, u32(8));
    setKv(d, `${L}expert_used_count`, u32(2));
  }),
  custom(M, `${L}expert_count = 0 and expert_used_count = 0`, A, (d) => {
    setKv(d, `${L}expert_count`, u32(0));
    setKv(d, `${L}expert_used_count`, u32(0));
  }),
  ...values(M, `${L}rope.scaling.type`, str, [['yarn', A], ['longrope', A], ['none', A], ['bogus', R], ['', R]]),
  ...values(M, `${L}rope.scaling.factor`, f32, [[0, A], [-1, R], [NaN, R], [1e-30, A]]),
  kv(M, `${L}attention.causal`, bool(false), A),
  ...values(M, `${L}pooling_type`, u32, [[1, A], [99, A]]),
  ...values(M, `${L}nextn_predict_layers`, u32, [[1, A], [5, R]]),
  kv(M, `${L}embedding_length_out`, u32(1), A),
  kv(M, `${L}attention.sliding_window`, u32(0), A),
  ...values(M, 'general.architecture', str, [['qwen2', A], ['llama4', A], ['granite', A], ['bert', A], ['clip', R], ['bogus', R], ['', R]]),
  ...values(M, 'general.file_type', u32, [[0, A], [99, A]]),
  // --- text model: vocabulary (llama_vocab::impl::load) ---
  ...values(M, 'tokenizer.ggml.model', str, [['llama', A], ['bert', A], ['none', A], ['bogus', R], ['', R]]),
  ...values(M, 'tokenizer.ggml.pre', str, [['default', A], ['bogus', R]]),
  ...values(M, 'tokenizer.ggml.bos_token_id', u32, [[49280, R], [U32_MAX, R]]),
  kv(M, 'tokenizer.ggml.bos_token_id', i32(-1), A),
  ...values(M, 'tokenizer.ggml.eos_token_id', u32, [[49280, R], [1e6, R]]),
  kv(M, 'tokenizer.ggml.padding_token_id', u32(U32_MAX), R),
  kv(M, 'tokenizer.ggml.unknown_token_id', u32(49280), R),
  custom(M, 'tokenizer.ggml.tokens truncated to 100 entries', R, (d) => { findKv(d, 'tokenizer.ggml.tokens').value.length = 100; }),
  custom(M, 'tokenizer.ggml.tokens with one extra entry', R, (d) => { findKv(d, 'tokenizer.ggml.tokens').value.push('<extra>'); }),
  custom(M, 'tokenizer.ggml.token_type truncated to 100 entries', R, (d) => { findKv(d, 'tokenizer.ggml.token_type').value.length = 100; }),
  custom(M, 'tokenizer.ggml.token_type all 0 (undefined type)', A, (d) => { findKv(d, 'tokenizer.ggml.token_type').value.fill(0); }),
  custom(M, 'tokenizer.ggml.merges empty', A, (d) => { findKv(d, 'tokenizer.ggml.merges').value.length = 0; }),
  custom(M, 'tokenizer.ggml.merges entries without a space', R, (d) => {
    const m = findKv(d, 'tokenizer.ggml.merges').value;
    for (let i = 0; i < 50; i++) m[i] = m[i].replace(' ', '');
  }),
  custom(M, 'tokenizer.ggml.tokens[2] (<|im_end|>) empty', A, (d) => { findKv(d, 'tokenizer.ggml.tokens').value[2] = ''; }),
  custom(M, 'tokenizer.ggml.tokens: every token the same string', R, (d) => { findKv(d, 'tokenizer.ggml.tokens').value.fill('a'); }),
  ...values(M, 'tokenizer.chat_template', str, [['{% for %}', A], ['{{ raise_exception("x") }}', A], ['x'.repeat(1 << 20), A]]),
  drop(M, 'tokenizer.chat_template', A),
  // --- text model: tensors (llama_model_llama::load_arch_tensors) ---
  shape(M, 'token_embd.weight', [127, 49280], R),
  shape(M, 'token_embd.weight', [128, 49279], R),
  shape(M, 'token_embd.weight', [128, 49281], R),
  shape(M, 'output.weight', [128, 49279], R),
  dropTensor(M, 'output.weight', A),
  shape(M, 'output_norm.weight', [127], R),
  shape(M, 'output_norm.weight', [128, 1], A),
  shape(M, 'blk.0.attn_q.weight', [128, 127], R),
  shape(M, 'blk.0.attn_k.weight', [128, 128], R),
  shape(M, 'blk.0.attn_v.weight', [127, 64], R),
  shape(M, 'blk.0.attn_output.weight', [128, 127], R),
  shape(M, 'blk.1.ffn_gate.weight', [128, 255], R),
  shape(M, 'blk.1.ffn_down.weight', [255, 128], R),
  shape(M, 'blk.2.ffn_up.weight', [128, 257], R),
  shape(M, 'blk.0.attn_norm.weight', [129], R),
  dropTensor(M, 'blk.2.attn_norm.weight', R),
  custom(M, 'tensors of blk.2 removed', R, (d) => { d.tensors = d.tensors.filter((t) => !t.name.startsWith('blk.2.')); }),
  rename(M, 'blk.1.attn_q.weight', 'blk.0.attn_q.weight', R),
  ttype(M, 'blk.0.attn_norm.weight', 1, A),
  ttype(M, 'output_norm.weight', 8, A),
  ttype(M, 'token_embd.weight', 8, A),
  ttype(M, 'blk.0.attn_q.weight', 30, A),
  ttype(M, 'blk.0.attn_q.weight', 2, A),
  ttype(M, 'blk.0.attn_q.weight', 4, R),
  ttype(M, 'output.weight', 99, R),
  // --- projector: clip load_hparams ---
  ...PROJECTOR_TYPES.map((t) => kv(P, 'clip.projector_type', str(t), A)),
  ...values(P, 'clip.projector_type', str, [['bogus', R], ['', R]]),
  kv(P, 'clip.has_vision_encoder', bool(false), R),
  drop(P, 'clip.has_vision_encoder', R),
  kv(P, 'clip.has_audio_encoder', bool(true), A),
  kv(P, 'general.architecture', str('llama'), R),
  ...values(P, `${C}image_size`, u32, [[0, R], [1, R], [7, R], [16, R], [64, R], [127, R], [129, A], [256, R], [U32_MAX, R]]),
  ...values(P, `${C}patch_size`, u32, [[0, R], [1, R], [3, R], [15, R], [17, R], [32, R], [128, R], [256, R]]),
  ...values(P, `${C}projector.scale_factor`, u32, [[0, R], [1, R], [2, R], [3, R], [8, R], [1000, R], [U32_MAX, R]]),
  drop(P, `${C}projector.scale_factor`, R),
  ...values(P, `${C}embedding_length`, u32, [[0, R], [32, R], [127, R], [129, R], [256, R]]),
  ...values(P, `${C}feed_forward_length`, u32, [[0, R], [128, A], [255, A], [U32_MAX, A]]),
  ...values(P, `${C}block_count`, u32, [[0, R], [1, A], [3, R], [100, R], [U32_MAX, R]]),
  ...values(P, `${C}attention.head_count`, u32, [[0, R], [3, R], [5, R], [128, A], [256, R]]),
  ...values(P, `${C}attention.head_count_kv`, u32, [[0, R], [3, R]]),
  ...values(P, `${C}attention.head_dim`, u32, [[0, R], [63, R]]),
  ...values(P, `${C}attention.layer_norm_epsilon`, f32, [[0, R], [-1e-6, R], [NaN, R], [Infinity, R]]),
  ...values(P, `${C}projection_dim`, u32, [[0, A], [127, R], [256, R]]),
  ...[[[], R], [[0.5], R], [[NaN, NaN, NaN], R], [[1e38, 1e38, 1e38], A]].map(([v, e]) => kv(P, `${C}image_mean`, arr(ValueType.FLOAT32, v), e)),
  ...[[[0, 0, 0], R], [[-1, -1, -1], A], [[NaN, NaN, NaN], R]].map(([v, e]) => kv(P, `${C}image_std`, arr(ValueType.FLOAT32, v), e)),
  // preproc_image_size is the longest edge an image is scaled to before tiling: a large value
  // costs memory in proportion (the child's memory cap turns that into an allocation failure)
  ...values(P, `${C}preproc_image_size`, u32, [[0, A], [1, R], [7, R], [127, A], [4096, A], [U32_MAX, R]]),
  custom(P, 'clip.use_gelu and clip.use_silu both true', R, (d) => {
    setKv(d, 'clip.use_gelu', bool(true));
    setKv(d, 'clip.use_silu', bool(true));
  }),
  kv(P, `${C}feature_layer`, arr(ValueType.INT32, [-5]), A),
  kv(P, `${C}feature_layer`, arr(ValueType.INT32, [100]), R),
  kv(P, `${C}image_grid_pinpoints`, arr(ValueType.INT32, [1, 2, 3]), R),
  // --- projector: tensors (clip load_tensors, idefics3) ---
  shape(P, 'mm.model.fc.weight', [2047, 128], R),
  shape(P, 'mm.model.fc.weight', [2048, 127], R),
  shape(P, 'mm.model.fc.weight', [2048, 129], R),
  shape(P, 'mm.model.fc.weight', [128, 128], R),
  ttype(P, 'mm.model.fc.weight', 99, R),
  dropTensor(P, 'mm.model.fc.weight', R),
  shape(P, 'v.patch_embd.weight', [15, 16, 3, 128], R),
  shape(P, 'v.patch_embd.weight', [16, 16, 4, 128], R),
  shape(P, 'v.patch_embd.weight', [16, 16, 3, 127], R),
  ttype(P, 'v.patch_embd.weight', 1, A),
  dropTensor(P, 'v.patch_embd.bias', A),
  shape(P, 'v.patch_embd.bias', [127], R),
  shape(P, 'v.position_embd.weight', [128, 63], R),
  shape(P, 'v.position_embd.weight', [128, 65], R),
  shape(P, 'v.position_embd.weight', [127, 64], R),
  dropTensor(P, 'v.position_embd.weight', R),
  shape(P, 'v.blk.0.attn_q.weight', [128, 127], R),
  dropTensor(P, 'v.blk.0.attn_q.bias', A),
  shape(P, 'v.blk.1.ffn_up.weight', [128, 255], R),
  shape(P, 'v.blk.1.ffn_down.weight', [256, 127], R),
  custom(P, 'v.blk.0 ffn_up and ffn_down shapes swapped (the legacy layout clip.cpp swaps back)', A, (d) => {
    const up = findTensor(d, 'v.blk.0.ffn_up.weight');
    const down = findTensor(d, 'v.blk.0.ffn_down.weight');
    [up.shape, down.shape] = [down.shape, up.shape];
  }),
  dropTensor(P, 'v.blk.1.ln1.weight', R),
  shape(P, 'v.post_ln.weight', [127], R),
  dropTensor(P, 'v.post_ln.weight', A),
  rename(P, 'v.blk.1.attn_q.weight', 'v.blk.0.attn_q.weight', R),
  rename(P, 'v.blk.0.ln2.bias', 'v.blk.0.ln1.bias', R),
  ttype(P, 'v.blk.0.ln1.weight', 8, A),
];

/** Hostile values for the random edits, by GGUF type. */
function hostile(rng, typed) {
  const n = Number(typed.value);
  if (typed.type === ValueType.FLOAT32 || typed.type === ValueType.FLOAT64) {
    return { ...typed, value: rng.pick([0, -0, -1, NaN, Infinity, -Infinity, 1e-45, 1e38, n * 10, -n]) };
  }
  if (typed.type === ValueType.BOOL) return { ...typed, value: !typed.value };
  return { ...typed, value: rng.pick([0, 1, 2, 3, 7, 127, 255, 256, 65535, 2 ** 31, U32_MAX, n - 1, n + 1, n * 2, Math.floor(n / 2)]) };
}

/** One random edit of a numeric key or a tensor dimension of `doc`. */
function randomEdit(rng, target, doc) {
  const scalars = doc.kvs.filter((x) => ![ValueType.ARRAY, ValueType.STRING].includes(x.type) && x.key !== 'general.alignment');
  if (rng.chance(0.7)) {
    const k = rng.pick(scalars);
    return kv(target, k.key, hostile(rng, k), A);
  }
  const t = rng.pick(doc.tensors);
  const ne = t.shape.slice();
  const d = rng.int(ne.length);
  ne[d] = rng.pick([ne[d] - 1, ne[d] + 1, 1, ne[d] * 2]);
  return shape(target, t.name, ne, A);
}

let docCache;
const docs = (fx) => (docCache ??= { model: loadDoc(fx.model), mmproj: loadDoc(fx.mmproj) });

export async function generate({ rng, seed, index, k }) {
  const fx = k.fixtures;
  const slot = listSlot(seed, 'meta', index, EDITS.length);
  let edits;
  if (slot >= 0) edits = [EDITS[slot]];
  else {
    const n = rng.pick([1, 1, 2, 3]);
    edits = [];
    for (let i = 0; i < n; i++) {
      const target = rng.pick([M, P]);
      edits.push(randomEdit(rng, target, await docs(fx)[target]));
    }
  }
  const expect = edits.some((e) => e.expect === R) ? R : A;
  const name = edits.map((e) => `${e.target}: ${e.label}`).join('; ');
  return {
    name,
    // random edits group by key (their values vary); listed ones by the edit itself
    kind: slot >= 0 ? name : edits.map((e) => `${e.target} ${e.key} (random)`).join('; '),
    expect,
    codes: MODEL_CODES,
    codesAt: 'load',
    async run() {
      const files = { ...fx };
      for (const target of new Set(edits.map((e) => e.target))) {
        const doc = cloneDoc(await docs(fx)[target]);
        for (const e of edits.filter((x) => x.target === target)) e.apply(doc);
        files[target] = k.path(`${target}.gguf`);
        await writeDoc(files[target], doc);
      }
      await tryFiles(k, files, testImage());
    },
  };
}
