// Issue 14: model and projector validation (native/gguf_rules.cc). One case per distinct crash
// signature of the fuzzer's findings (/work/notes/fuzz-findings.md, ids in the labels), each a
// mutation of the tiny fixture made at test time: every one aborted the process in llama.cpp
// before the validation; now each is refused with a typed error naming the key or tensor.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ModelLoadError, ProjectorMismatchError, loadModel } from '../../dist/index.js';
import { tensorBytes } from '../fixtures/gguf.mjs';
import { ensureFixture } from '../fixtures/synth.mjs';
import { ValueType as T, cloneDoc, findKv, findTensor, loadDoc, removeKv, setKv, writeDoc } from '../fuzz/gguf-doc.mjs';

const u32 = (value) => ({ type: T.UINT32, value });
const f32 = (value) => ({ type: T.FLOAT32, value });
const str = (value) => ({ type: T.STRING, value });

let dir, fixture, modelDoc, projDoc;
before(async () => {
  fixture = await ensureFixture({ size: 'tiny' });
  modelDoc = await loadDoc(fixture.model);
  projDoc = await loadDoc(fixture.mmproj);
  dir = await mkdtemp(join(tmpdir(), 'smolvlm-validation-'));
});
after(() => rm(dir, { recursive: true, force: true }));

let n = 0;
/** Writes the mutated file, loads it with the other file intact and returns the rejection. */
async function loadMutated(target, mutate) {
  const doc = cloneDoc(target === 'model' ? modelDoc : projDoc);
  mutate(doc);
  const path = join(dir, `${target}-${n++}.gguf`);
  await writeDoc(path, doc);
  const files = target === 'model' ? { model: path, mmproj: fixture.mmproj } : { model: fixture.model, mmproj: path };
  return loadModel({ ...files, threads: 1, contextSize: 512 });
}

const cases = [
  // model: llama-model.cpp / llama-vocab.cpp asserts
  ['meta:1:221 llama.block_count 0 (llama-model.cpp:1226)', 'model', (d) => setKv(d, 'llama.block_count', u32(0)), /llama\.block_count is 0, expected 1\.\.512/],
  ['meta:1:11 llama.block_count 4096 (llama-model.cpp:1226)', 'model', (d) => setKv(d, 'llama.block_count', u32(4096)), /llama\.block_count is 4096/],
  ['meta:1:104 llama.nextn_predict_layers 5 (llama-model.cpp:1228)', 'model', (d) => setKv(d, 'llama.nextn_predict_layers', u32(5)), /nextn_predict_layers is 5, expected 0/],
  ['meta:1:120 llama.expert_count 2^32-1 (llama-model.cpp:1259)', 'model', (d) => setKv(d, 'llama.expert_count', u32(0xffffffff)), /expert_count is 4294967295, expected 0/],
  ['meta:1:117 llama.expert_used_count 2 (llama-model.cpp:1260)', 'model', (d) => setKv(d, 'llama.expert_used_count', u32(2)), /expert_used_count is 2, expected 0/],
  ['meta:1:140 llama.expert_count 2 (llama-model.cpp:1262)', 'model', (d) => setKv(d, 'llama.expert_count', u32(2)), /expert_count is 2, expected 0/],
  ['meta:1:265 llama.rope.scaling.type "bogus" (llama-model.cpp:1318)', 'model', (d) => setKv(d, 'llama.rope.scaling.type', str('bogus')), /rope\.scaling\.type is 'bogus'/],
  ['meta:1:7 rms epsilon negative (ops.cpp:3949 at generate)', 'model', (d) => setKv(d, 'llama.attention.layer_norm_rms_epsilon', f32(-0.00001)), /layer_norm_rms_epsilon is .*expected a finite number > 0/],
  ['meta:1:84 rms epsilon NaN (ops.cpp:3949 at generate)', 'model', (d) => setKv(d, 'llama.attention.layer_norm_rms_epsilon', f32(NaN)), /layer_norm_rms_epsilon is nan/],
  ['meta:1:113 tokenizer.ggml.model "none" (llama-vocab.cpp:3171)', 'model', (d) => setKv(d, 'tokenizer.ggml.model', str('none')), /tokenizer\.ggml\.model is 'none'/],
  ['meta:1:45 every token the same string (llama-vocab.cpp:2501)', 'model', (d) => { findKv(d, 'tokenizer.ggml.tokens').value.fill('a'); }, /tokenizer\.ggml\.tokens has the token 'a' twice/],
  ['gguf:1:91 general.alignment 16 (ggml-backend.cpp:2515)', 'model', (d) => setKv(d, 'general.alignment', u32(16)), /general\.alignment is 16, expected a power of two >= 32/],
  // projector: clip.cpp / gguf.cpp / ggml.c asserts
  ['gguf:1:18 clip.vision.feed_forward_length as f32 (gguf.cpp:194)', 'mmproj', (d) => setKv(d, 'clip.vision.feed_forward_length', f32(256)), /feed_forward_length has type float32, expected uint32/],
  ['gguf:2:34 clip.projector_type as u32 (gguf.cpp:194)', 'mmproj', (d) => setKv(d, 'clip.projector_type', u32(1)), /clip\.projector_type has type uint32, expected string/],
  ['gguf:2:64 scale_factor as a u32 array (gguf.cpp:1115)', 'mmproj', (d) => setKv(d, 'clip.vision.projector.scale_factor', { type: T.ARRAY, itemType: T.UINT32, value: [4] }), /scale_factor has type array, expected uint32/],
  ['meta:1:39 scale_factor 1 (clip.cpp:900)', 'mmproj', (d) => setKv(d, 'clip.vision.projector.scale_factor', u32(1)), /scale_factor is 1, expected > 1/],
  ['meta:1:179 scale_factor removed (clip.cpp:900)', 'mmproj', (d) => removeKv(d, 'clip.vision.projector.scale_factor'), /has no key clip\.vision\.projector\.scale_factor/],
  ['meta:1:226 scale_factor 2 vs mm.model.fc.weight (ggml.c:3294)', 'mmproj', (d) => setKv(d, 'clip.vision.projector.scale_factor', u32(2)), /tensor mm\.model\.fc\.weight has shape .*expected/],
  ['meta:1:268 mm.model.fc.weight [128,128] (ggml.c:3294)', 'mmproj', (d) => { findTensor(d, 'mm.model.fc.weight').shape = [128, 128]; }, /tensor mm\.model\.fc\.weight has shape \[128,128\]/],
  ['meta:1:0 clip head_count_kv 0 (ggml.c:3718)', 'mmproj', (d) => setKv(d, 'clip.vision.attention.head_count_kv', u32(0)), /head_count_kv is 0/],
  ['meta:1:26 clip head_count 3 (ggml.c:3718)', 'mmproj', (d) => setKv(d, 'clip.vision.attention.head_count', u32(3)), /is not a multiple of attention\.head_count 3/],
  ['meta:1:67 clip head_dim 63 (ggml.c:3718)', 'mmproj', (d) => setKv(d, 'clip.vision.attention.head_dim', u32(63)), /head_dim is 63, expected/],
  ['meta:1:12 clip embedding_length 32 (ggml.c:3698)', 'mmproj', (d) => setKv(d, 'clip.vision.embedding_length', u32(32)), /tensor v\.\S+ has shape .*expected/],
  ['meta:1:98 clip image_size 1 (ggml.c:3698)', 'mmproj', (d) => setKv(d, 'clip.vision.image_size', u32(1)), /image_size is 1, expected at least patch_size/],
  ['meta:1:139 clip image_size 0 (ggml.c:4519)', 'mmproj', (d) => setKv(d, 'clip.vision.image_size', u32(0)), /image_size is 0/],
  ['meta:1:30 clip patch_size 32 (ggml.c:2063)', 'mmproj', (d) => setKv(d, 'clip.vision.patch_size', u32(32)), /patch_size|tensor v\.patch_embd\.weight/],
  ['meta:1:93 v.patch_embd.bias [127] (ggml.c:2063)', 'mmproj', (d) => { findTensor(d, 'v.patch_embd.bias').shape = [127]; }, /tensor v\.patch_embd\.bias has shape \[127\], expected/],
  ['meta:1:111 v.blk.0 ffn_up/ffn_down swapped (ggml.c:2063)', 'mmproj', (d) => {
    const up = findTensor(d, 'v.blk.0.ffn_up.weight'), down = findTensor(d, 'v.blk.0.ffn_down.weight');
    [up.shape, down.shape] = [down.shape, up.shape];
  }, /tensor v\.blk\.0\.ffn_(up|down)\.weight has shape/],
  ['meta:1:18 v.post_ln.weight [127] (ggml.c:2264)', 'mmproj', (d) => { findTensor(d, 'v.post_ln.weight').shape = [127]; }, /tensor v\.post_ln\.weight has shape \[127\]/],
  ['gguf:1:41 extra v.blk.0.attn_q_norm.weight (ggml.c:2264)', 'mmproj', (d) => {
    // A well-formed extra tensor: its data appended (aligned) after the last one.
    const src = findTensor(d, 'v.blk.0.attn_q.weight');
    const offset = Math.ceil(d.data.length / d.alignment) * d.alignment;
    const bytes = tensorBytes(src.type, src.shape);
    d.data = Buffer.concat([d.data, Buffer.alloc(offset - d.data.length + bytes)]);
    d.tensors.push({ ...src, name: 'v.blk.0.attn_q_norm.weight', shape: src.shape.slice(), offset });
  }, /a tensor the loader does not expect: v\.blk\.0\.attn_q_norm\.weight/],
  ['meta:1:266 clip layer_norm_epsilon NaN (ops.cpp:3843 at encode)', 'mmproj', (d) => setKv(d, 'clip.vision.attention.layer_norm_epsilon', f32(NaN)), /layer_norm_epsilon is nan/],
  ['meta:1:108 clip preproc_image_size 1 (mtmd-image.cpp:280 at encode)', 'mmproj', (d) => setKv(d, 'clip.vision.preproc_image_size', u32(1)), /preproc_image_size is 1, expected >= image_size/],
];

for (const [label, target, mutate, message] of cases) {
  test(`refused, typed: ${label}`, async () => {
    await assert.rejects(loadMutated(target, mutate), (err) => {
      assert.ok(err instanceof ModelLoadError, `expected a ModelLoadError, got ${err?.name}: ${err?.message}`);
      assert.equal(err.code, 'ERR_MODEL_INVALID');
      assert.match(err.message, message);
      return true;
    });
  });
}

test('refused, typed: meta:1:254 clip.projector_type "mlp" on an idefics3 file (SIGSEGV)', async () => {
  await assert.rejects(loadMutated('mmproj', (d) => setKv(d, 'clip.projector_type', str('mlp'))), (err) => {
    assert.ok(err instanceof ProjectorMismatchError, `got ${err?.name}: ${err?.message}`);
    assert.equal(err.code, 'ERR_PROJECTOR_MISMATCH');
    assert.match(err.message, /projector_type 'mlp'.*'idefics3'/);
    return true;
  });
});

test('the unmutated fixture, written back through the same path, still loads', async () => {
  const model = await loadMutated('mmproj', () => {});
  assert.equal(model.disposed, false);
  await model.dispose();
});
