// LoRA adapters: greedy output with the synthetic adapter equals llama-mtmd-cli --lora /
// --lora-scaled from the same build and differs from the base model's; per-request sets are
// served apart (never one batch with the wrong weights); bad adapter files are typed errors.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { estimateMemory, InvalidArgumentError, ModelLoadError } from '../../dist/index.js';
import { f32, str, u32, writeGGUF } from '../fixtures/gguf.mjs';
import { ensureLora, loraModel } from '../fixtures/lora.mjs';
import { SHAPES } from '../fixtures/synth.mjs';
import { ensureTestImages, loadTiny, referenceAnswer, root, tempDir, THREADS, userMessage } from '../helpers.mjs';
import { assertSameAnswers, assertToldApart } from '../same-greedy.mjs';

const PROMPT = 'Describe this image.';
const MAX_TOKENS = 24;
const ours = (vlm, image, extra = {}) => vlm.generate({ messages: userMessage(image, PROMPT), maxTokens: MAX_TOKENS, temperature: 0, ...extra });
const withEog = (r) => r.text + (r.finishReason === 'stop' ? '\n' : '');

describe('LoRA adapters', () => {
  let lora, images, vlm;
  const reference = {}; // llama-mtmd-cli's answers per image kind and scale ('base', 1, 0.5)
  before(async () => {
    lora = await ensureLora();
    images = await ensureTestImages();
    vlm = await loadTiny({ lora: [{ path: lora.path }], parallel: 2 });
    for (const kind of ['square', 'portrait']) {
      const image = images[kind];
      const base = { ...lora.base, image, prompt: PROMPT, maxTokens: MAX_TOKENS };
      reference[kind] = {
        base: await referenceAnswer(base),
        1: await referenceAnswer({ ...base, args: ['--lora', lora.path] }),
        0.5: await referenceAnswer({ ...base, args: ['--lora-scaled', `${lora.path}:0.5`] }),
      };
    }
  });
  after(() => vlm?.dispose());

  test('the adapter changes the answer, and its scale matters (else equality proves little)', () => {
    for (const r of Object.values(reference)) assert.equal(new Set([r.base, r[1], r[0.5]]).size, 3, JSON.stringify(r));
  });

  for (const kind of ['square', 'portrait']) {
    test(`${kind}: loaded at scale 1 equals llama-mtmd-cli --lora`, async () => {
      assert.equal(withEog(await ours(vlm, images[kind])), reference[kind][1]);
    });
    test(`${kind}: per-request scale 0.5 equals --lora-scaled :0.5, and lora: [] the base model`, async () => {
      assert.equal(withEog(await ours(vlm, images[kind], { lora: [{ id: vlm.info.lora[0].id, scale: 0.5 }] })), reference[kind][0.5]);
      assert.equal(withEog(await ours(vlm, images[kind], { lora: [{ path: lora.path, scale: 0 }] })), reference[kind].base);
      assert.equal(withEog(await ours(vlm, images[kind], { lora: [] })), reference[kind].base);
    });
  }

  test('a model loaded at scale 0.5 equals --lora-scaled :0.5', async () => {
    const half = await loadTiny({ lora: [{ path: lora.path, scale: 0.5, id: 'half' }] });
    try {
      assert.deepEqual(half.info.lora.map((a) => [a.id, a.scale]), [['half', 0.5]]);
      assert.equal(withEog(await ours(half, images.square)), reference.square[0.5]);
    } finally {
      await half.dispose();
    }
  });

  test('requests with different adapter sets in parallel each get their own weights', async (t) => {
    const sets = [undefined, [], [{ id: vlm.info.lora[0].id, scale: 0.5 }]];
    const GREEDY = { tokens: true, logprobs: true };
    // alone, each set is llama-mtmd-cli's answer exactly
    const alone = [];
    for (const lora of sets) alone.push(await ours(vlm, images.square, { lora, ...GREEDY }));
    assert.deepEqual(alone.map(withEog), [reference.square[1], reference.square.base, reference.square[0.5]]);
    // precondition: the comparison below tells the three sets apart, near-ties allowed
    assertToldApart(alone, (i) => `set ${i}`);
    // all at once on two slots (the engine batches requests of one set together and runs different
    // sets one after another): token for token, up to a floating-point near-tie (test/same-greedy.mjs)
    const got = await Promise.all(Array.from({ length: 9 }, (_, i) => ours(vlm, images.square, { lora: sets[i % 3], ...GREEDY })));
    assertSameAnswers(t, got, got.map((_, i) => alone[i % 3]), (i) => `request ${i} (set ${i % 3})`);
  });

  test('info.lora, memory() and estimateMemory() count the adapter', async () => {
    const [a] = vlm.info.lora;
    assert.equal(a.path, lora.path);
    assert.equal(a.id, lora.path.split('/').pop().replace(/\.gguf$/, ''));
    assert.equal(a.alpha, lora.alpha);
    assert.equal(a.tensors, lora.tensors / 2);
    // F16 A/B pairs: (n_in + n_out) * rank * 2 bytes each
    const t = SHAPES.tiny.text;
    const q = t.nHead * t.headDim, v = t.nHeadKv * t.headDim;
    const perLayer = [[t.nEmbd, q], [t.nEmbd, v], [q, t.nEmbd], [t.nEmbd, t.nFf], [t.nFf, t.nEmbd]].reduce((s, [i, o]) => s + (i + o) * lora.rank * 2, 0);
    assert.equal(a.sizeBytes, perLayer * t.nLayer);
    const mem = vlm.memory();
    assert.equal(mem.totals.lora, a.sizeBytes);
    assert.equal(mem.totals.all, mem.totals.model + mem.totals.context + mem.totals.compute + mem.totals.projector + mem.totals.lora);
    const est = await estimateMemory({ ...lora.base, contextSize: 4096, lora: [{ path: lora.path }] });
    assert.equal(est.totals.lora, a.sizeBytes);
    const none = await estimateMemory({ ...lora.base, contextSize: 4096 });
    assert.equal(none.totals.lora, 0);
  });

  test('smolvlm describe --lora path:0.5 answers as llama-mtmd-cli --lora-scaled; a bad adapter fails with its message', async () => {
    const cli = (...args) => new Promise((done) => execFile(process.execPath, [join(root, 'bin', 'smolvlm.mjs'), 'describe', images.square,
      '--model', lora.base.model, '--mmproj', lora.base.mmproj, '--threads', String(THREADS), '--max-tokens', String(MAX_TOKENS), '-q', ...args],
    (err, stdout, stderr) => done({ code: err ? err.code : 0, stdout, stderr })));
    const r = await cli('--json', '--lora', `${lora.path}:0.5`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).text, reference.square[0.5].trim());
    const bad = await cli('--lora', lora.base.mmproj);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /not a LoRA adapter/);
  });

  test('a request naming an adapter the model was not loaded with is an InvalidArgumentError', async () => {
    await assert.rejects(ours(vlm, images.square, { lora: [{ id: 'nope' }] }), (e) => e instanceof InvalidArgumentError && /no adapter 'nope'/.test(e.message));
    await assert.rejects(ours(vlm, images.square, { lora: [{ scale: 1 }] }), InvalidArgumentError);
    await assert.rejects(ours(vlm, images.square, { lora: [{ id: 'x', scale: Number.NaN }] }), InvalidArgumentError);
    await assert.rejects(loadTiny({ lora: [{ path: lora.path }, { path: lora.path, id: 'other' }] }), InvalidArgumentError);
  });

  describe('bad adapter files: a typed ModelLoadError naming the problem, and the process lives on', () => {
    let dir;
    before(() => { dir = tempDir(); });
    const write = async (name, spec) => { const p = join(dir, name); await writeGGUF(p, spec); return p; };
    const tiny = () => SHAPES.tiny.text;
    const cases = [
      ['the model file itself (not an adapter)', async () => lora.base.model, /not a LoRA adapter: general.type is 'model'/],
      ['the projector file', async () => lora.base.mmproj, /not a LoRA adapter/],
      ['an adapter for another architecture', () => write('arch.gguf', loraModel(tiny(), { architecture: 'qwen2' })), /architecture 'qwen2'.*wrong base model/],
      ['an adapter for another shape', () => write('shape.gguf', loraModel(SHAPES['256m'].text, { layers: [0] })), /do not fit the model's.*wrong base model/],
      ['an adapter for layers the model lacks', () => write('layers.gguf', loraModel(tiny(), { layers: [7] })), /blk\.7\..*does not have/],
      ['adapter.type is not lora', async () => {
        const spec = loraModel(tiny(), { layers: [0] });
        spec.metadata = spec.metadata.map(([k, v]) => [k, k === 'adapter.type' ? str('control_vector') : v]);
        return write('type.gguf', spec);
      }, /adapter.type is 'control_vector'/],
      ['alpha of the wrong type (llama.cpp would assert)', async () => {
        const spec = loraModel(tiny(), { layers: [0] });
        spec.metadata = spec.metadata.map(([k, v]) => [k, k === 'adapter.lora.alpha' ? u32(16) : v]);
        return write('alpha.gguf', spec);
      }, /alpha is not a float32/],
      ['general.type of the wrong type (llama.cpp would assert)', async () => {
        const spec = loraModel(tiny(), { layers: [0] });
        spec.metadata = spec.metadata.map(([k, v]) => [k, k === 'general.type' ? f32(1) : v]);
        return write('gtype.gguf', spec);
      }, /general.type is not a string/],
      ['an A without its B', async () => {
        const spec = loraModel(tiny(), { layers: [0] });
        spec.tensors = spec.tensors.filter((t) => t.name !== 'blk.0.attn_q.weight.lora_b');
        return write('half.gguf', spec);
      }, /only one of blk\.0\.attn_q\.weight\.lora_a/],
      ['a truncated adapter', async () => {
        const p = join(dir, 'truncated.gguf');
        copyFileSync(lora.path, p);
        truncateSync(p, readFileSync(p).length - 4096);
        return p;
      }, /truncated/],
      ['a corrupt header', async () => {
        const p = join(dir, 'corrupt.gguf');
        const bytes = readFileSync(lora.path);
        bytes.fill(0xff, 24, 200);
        writeFileSync(p, bytes);
        return p;
      }, /truncated or corrupt/],
    ];
    for (const [what, make, message] of cases) {
      test(what, async () => {
        const path = await make();
        await assert.rejects(loadTiny({ lora: [{ path }] }), (e) => {
          assert.ok(e instanceof ModelLoadError, `${e.name}: ${e.message}`);
          assert.equal(e.code, 'ERR_MODEL_INVALID', e.message);
          assert.match(e.message, message);
          return true;
        });
        await assert.rejects(estimateMemory({ ...lora.base, lora: [{ path }] }), (e) => e.code === 'ERR_MODEL_INVALID');
      });
    }
    test('a missing file is ERR_MODEL_NOT_FOUND; a file that is not GGUF ERR_NOT_GGUF', async () => {
      await assert.rejects(loadTiny({ lora: [{ path: join(dir, 'missing.gguf') }] }), (e) => e instanceof ModelLoadError && e.code === 'ERR_MODEL_NOT_FOUND');
      const p = join(dir, 'text.gguf');
      writeFileSync(p, 'not a gguf file at all');
      await assert.rejects(loadTiny({ lora: [{ path: p }] }), (e) => e instanceof ModelLoadError && e.code === 'ERR_NOT_GGUF');
    });
    test('after all of these, the loaded model still answers as before', async () => {
      assert.equal(withEog(await ours(vlm, images.square)), reference.square[1]);
    });
  });
});

describe('several LoRA adapters at once', () => {
  // llama.cpp applies a context's adapters in one map (llama_adapter_loras) built in the order
  // llama_set_adapters_lora gets them: llama-mtmd-cli's is the order of its --lora flags, ours the
  // load order (a request's set is sorted by it, lib/lora.ts), so a model loaded with [a, b]
  // answers as `--lora a --lora b`, whatever order a request names them in.
  let a, b, images, vlm;
  const ref = {};
  before(async () => {
    a = await ensureLora({ seed: 1 });
    b = await ensureLora({ seed: 2 });
    images = await ensureTestImages();
    vlm = await loadTiny({ lora: [{ path: a.path, id: 'a' }, { path: b.path, id: 'b' }] });
    const base = { ...a.base, image: images.square, prompt: PROMPT, maxTokens: MAX_TOKENS };
    ref.a = await referenceAnswer({ ...base, args: ['--lora', a.path] });
    ref.b = await referenceAnswer({ ...base, args: ['--lora', b.path] });
    ref.ab = await referenceAnswer({ ...base, args: ['--lora', a.path, '--lora', b.path] });
    ref.ab5 = await referenceAnswer({ ...base, args: ['--lora', a.path, '--lora-scaled', `${b.path}:0.5`] });
  });
  after(() => vlm?.dispose());

  test('each adapter counts: a, b and both give different answers (else equality proves little)', () => {
    assert.equal(new Set([ref.a, ref.b, ref.ab, ref.ab5]).size, 4, JSON.stringify(ref));
  });

  test('both loaded at scale 1 equal llama-mtmd-cli --lora a --lora b', async () => {
    assert.deepEqual(vlm.info.lora.map((x) => [x.id, x.scale]), [['a', 1], ['b', 1]]);
    assert.equal(withEog(await ours(vlm, images.square)), ref.ab);
  });

  test('per-request sets: one adapter alone, and b at 0.5 named first, equal the CLI in load order', async () => {
    assert.equal(withEog(await ours(vlm, images.square, { lora: [{ id: 'a', scale: 1 }] })), ref.a);
    assert.equal(withEog(await ours(vlm, images.square, { lora: [{ id: 'b', scale: 1 }] })), ref.b);
    assert.equal(withEog(await ours(vlm, images.square, { lora: [{ id: 'b', scale: 0.5 }, { id: 'a', scale: 1 }] })), ref.ab5);
    assert.equal(withEog(await ours(vlm, images.square, { lora: [{ id: 'b', scale: 1 }, { id: 'a', scale: 1 }] })), ref.ab);
  });

  test('loaded in the other order, equal --lora b --lora a', async () => {
    const ba = await loadTiny({ lora: [{ path: b.path, id: 'b' }, { path: a.path, id: 'a' }] });
    try {
      const theirs = await referenceAnswer({ ...a.base, image: images.square, prompt: PROMPT, maxTokens: MAX_TOKENS, args: ['--lora', b.path, '--lora', a.path] });
      assert.equal(withEog(await ours(ba, images.square)), theirs);
    } finally {
      await ba.dispose();
    }
  });
});

