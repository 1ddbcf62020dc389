// Bad input: each a typed error with a stable code; the process and the model stay usable.
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ContextFullError, ImageError, InvalidArgumentError, loadModel, ModelLoadError, ProjectorMismatchError, SmolVLMError,
} from '../../dist/index.js';
import { ensureFixture, ensureTestImages, loadTiny, tempDir, userMessage } from '../helpers.mjs';

let files, dir, images;
before(async () => {
  files = await ensureFixture({ size: 'tiny' });
  images = await ensureTestImages();
  dir = tempDir();
});

async function loadErr(options) {
  const err = await loadModel({ threads: 2, ...options }).catch((e) => e);
  assert.ok(err instanceof SmolVLMError, `typed error, got ${err}`);
  assert.ok(err.stack.includes('errors.test.mjs'), 'the call site is in the stack');
  return err;
}

describe('loading', () => {
  test('missing model file', async () => {
    const err = await loadErr({ model: join(dir, 'nope.gguf') });
    assert.ok(err instanceof ModelLoadError);
    assert.equal(err.code, 'ERR_MODEL_NOT_FOUND');
  });

  test('a directory', async () => {
    const d = join(dir, 'adir.gguf');
    mkdirSync(d, { recursive: true });
    const err = await loadErr({ model: d });
    assert.equal(err.code, 'ERR_MODEL_UNREADABLE');
  });

  test('random bytes', async () => {
    const p = join(dir, 'random.gguf');
    writeFileSync(p, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)));
    const err = await loadErr({ model: p });
    assert.equal(err.code, 'ERR_NOT_GGUF');
  });

  test('truncated GGUF (header only, and half the file)', async () => {
    for (const fraction of [0.001, 0.5]) {
      const p = join(dir, `truncated-${fraction}.gguf`);
      const size = Math.floor(statSync(files.model).size * fraction);
      const buf = Buffer.alloc(size);
      const fd = openSync(files.model, 'r');
      readSync(fd, buf, 0, size, 0);
      closeSync(fd);
      writeFileSync(p, buf);
      const err = await loadErr({ model: p, mmproj: files.mmproj });
      assert.equal(err.code, 'ERR_MODEL_INVALID', `${fraction}: ${err.message}`);
    }
  });

  test('text GGUF given as projector', async () => {
    const err = await loadErr({ model: files.model, mmproj: files.model });
    assert.ok(err instanceof ProjectorMismatchError);
    assert.equal(err.code, 'ERR_PROJECTOR_MISMATCH');
  });

  test('projector given as model', async () => {
    const err = await loadErr({ model: files.mmproj });
    assert.equal(err.code, 'ERR_MODEL_INVALID');
    assert.match(err.message, /projector/);
  });

  test('invalid options', async () => {
    await assert.rejects(loadModel({}), InvalidArgumentError);
    await assert.rejects(loadModel({ model: files.model, parallel: 8, batchSize: 4 }), InvalidArgumentError);
    await assert.rejects(loadModel({ model: files.model, kvCacheType: 'q8_0', flashAttention: false }), InvalidArgumentError);
    await assert.rejects(loadModel({ model: files.model, gpu: { layers: 1.5 } }), InvalidArgumentError);
    await assert.rejects(loadModel({ model: files.model, contextSize: -1 }), (e) => e.code === 'ERR_INVALID_ARGUMENT');
    await assert.rejects(loadModel({ model: files.model, kvCacheType: 'q3' }), InvalidArgumentError);
  });

  test('caller mistakes the issue found, each ERR_INVALID_ARGUMENT with the call site', async () => {
    const trap = Object.defineProperty({ model: files.model }, 'contextSize', { enumerable: true, get() { throw new Error('getter bug'); } });
    const cases = [
      [{ model: files.model, lroa: 'x.gguf' }, /^loadModel options: unknown option 'lroa'/],
      [{ model: files.model, contxtSize: 512 }, /unknown option 'contxtSize' \(did you mean 'contextSize'\?\)/],
      [{ model: files.model, threads: 1024 }, /^threads must be an integer in \[1, \d+\]$/],
      [{ model: files.model, imageCache: null }, /^imageCache must be false or \{ maxBytes \}$/],
      [{ model: files.model, signal: {} }, /^signal must be an AbortSignal$/],
    ];
    for (const [options, pattern] of cases) {
      const err = await loadErr(options);
      assert.ok(err instanceof InvalidArgumentError, `${err}`);
      assert.equal(err.code, 'ERR_INVALID_ARGUMENT');
      assert.match(err.message, pattern);
    }
    const trapped = await loadModel(trap).catch((e) => e);
    assert.ok(trapped instanceof InvalidArgumentError, `${trapped}`);
    assert.match(trapped.message, /^loadModel options\.contextSize cannot be read: getter bug$/);
    const { estimateMemory } = await import('../../dist/index.js');
    const est = await estimateMemory({ model: files.model, flashAtention: true }).catch((e) => e);
    assert.equal(est.code, 'ERR_INVALID_ARGUMENT');
    assert.match(est.message, /did you mean 'flashAttention'/);
  });
});

describe('generating', () => {
  let vlm;
  before(async () => {
    vlm = await loadTiny({ contextSize: 256 });
  });
  after(() => vlm?.dispose());

  const cases = [
    ['empty messages', { messages: [] }, 'ERR_INVALID_ARGUMENT'],
    ['no content', { messages: [{ role: 'user', content: '' }] }, 'ERR_INVALID_ARGUMENT'],
    ['bad role', { messages: [{ role: 'robot', content: 'hi' }] }, 'ERR_INVALID_ARGUMENT'],
    ['bad part', { messages: [{ role: 'user', content: [{ type: 'video' }] }] }, 'ERR_INVALID_ARGUMENT'],
    ['neither messages nor prompt', {}, 'ERR_INVALID_ARGUMENT'],
    ['markers and images disagree', { prompt: 'no marker here', images: ['x.png'] }, 'ERR_INVALID_ARGUMENT'],
    ['bad temperature', { messages: [{ role: 'user', content: 'hi' }], temperature: -1 }, 'ERR_INVALID_ARGUMENT'],
    ['bad maxTokens', { messages: [{ role: 'user', content: 'hi' }], maxTokens: 1.5 }, 'ERR_INVALID_ARGUMENT'],
    ['missing image file', { messages: userMessage('/nonexistent/x.png', 'hi') }, 'ERR_IMAGE_INVALID'],
    ['image that is not an image', { messages: userMessage(Buffer.from('not an image at all'), 'hi') }, 'ERR_IMAGE_INVALID'],
    ['raw pixels of the wrong size', { messages: userMessage({ data: new Uint8Array(10), width: 4, height: 4, channels: 3 }, 'hi') }, 'ERR_IMAGE_INVALID'],
    ['prompt longer than the context', { messages: [{ role: 'user', content: 'word '.repeat(400) }] }, 'ERR_CONTEXT_FULL'],
    ['maxTokens 0', { messages: [{ role: 'user', content: 'hi' }], maxTokens: 0 }, 'ERR_INVALID_ARGUMENT'],
    ['repeatPenalty 0', { messages: [{ role: 'user', content: 'hi' }], repeatPenalty: 0 }, 'ERR_INVALID_ARGUMENT'],
    // mtmd scales the long side to the projector's size: a 1-pixel short side would round to 0
    // and abort inside llama.cpp, so it is refused first
    ['an image far too elongated for the projector', { messages: userMessage({ data: new Uint8Array(3000 * 3), width: 3000, height: 1, channels: 3 }, 'hi') }, 'ERR_IMAGE_INVALID'],
  ];
  for (const [name, request, code] of cases) {
    test(name, async () => {
      const err = await vlm.generate(request).catch((e) => e);
      assert.ok(err instanceof SmolVLMError, `typed error for ${name}: ${err}`);
      assert.equal(err.code, code, err.message);
      if (code === 'ERR_CONTEXT_FULL') assert.ok(err instanceof ContextFullError);
      if (code === 'ERR_IMAGE_INVALID') assert.ok(err instanceof ImageError);
      assert.ok(err.stack.includes('errors.test.mjs'), 'the call site is in the stack');
    });
  }

  const hi = (extra) => ({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 2, ...extra });
  const mistakes = [
    ['signal that is not an AbortSignal', hi({ signal: {} }), 'ERR_INVALID_ARGUMENT'],
    ['maxPixels -1', hi({ image: { maxPixels: -1 } }), 'ERR_INVALID_ARGUMENT'],
    ['maxPixels NaN', hi({ image: { maxPixels: NaN } }), 'ERR_INVALID_ARGUMENT'],
    ['timeoutMs -1', hi({ image: { timeoutMs: -1 } }), 'ERR_INVALID_ARGUMENT'],
    ['an unknown request key', hi({ jsonShema: {} }), 'ERR_INVALID_ARGUMENT'],
    ['an unknown image option', hi({ image: { allowRemote: false } }), 'ERR_INVALID_ARGUMENT'],
    ['65 stop strings', hi({ stop: Array.from({ length: 65 }, (_, i) => `s${i}`) }), 'ERR_INVALID_ARGUMENT'],
    ['a getter that throws', Object.defineProperty(hi(), 'temperature', { enumerable: true, get() { throw new Error('x'); } }), 'ERR_INVALID_ARGUMENT'],
    ['raw data: null', { messages: userMessage({ data: null, width: 2, height: 2, channels: 3 }, 'hi') }, 'ERR_IMAGE_INVALID'],
    ['file://host/path', { messages: userMessage('file://host/path/x.png', 'hi') }, 'ERR_IMAGE_INVALID'],
    ['a loopback URL under the default policy', { messages: userMessage('http://127.0.0.1:9/x.png', 'hi') }, 'ERR_IMAGE_INVALID'],
  ];
  for (const [name, request, code] of mistakes) {
    test(`caller mistake: ${name}`, async () => {
      for (const call of [() => vlm.generate(request), () => vlm.stream(request).result, () => vlm.countTokens(request)]) {
        const err = await call().catch((e) => e);
        assert.ok(err instanceof SmolVLMError, `typed error for ${name}: ${err}`);
        assert.equal(err.code, code, err.message);
      }
    });
  }

  test('a DataView is taken as the bytes of an encoded image', async () => {
    const png = readFileSync(images.square);
    const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
    const a = await vlm.countTokens({ messages: userMessage(view, 'hi') });
    const b = await vlm.countTokens({ messages: userMessage(images.square, 'hi') });
    assert.deepEqual(a, b);
  });

  test('detokenize takes integer ids in the vocabulary only', async () => {
    for (const bad of [[NaN], [Infinity], ['a'], [1.5], [-1], [vlm.info.vocabSize], [null]]) {
      const err = await vlm.detokenize(bad).catch((e) => e);
      assert.ok(err instanceof InvalidArgumentError, `${String(bad[0])}: ${err}`);
      assert.match(err.message, /^detokenize: tokens\[0\] is .*: each must be an integer id in \[0, \d+\]$/);
    }
    const ids = await vlm.tokenize('hello');
    assert.equal(await vlm.detokenize(ids), 'hello');
    const err = await vlm.tokenize('x', { specail: true }).catch((e) => e);
    assert.match(err.message, /did you mean 'special'/);
  });

  test('countTokens refuses the same elongated image', async () => {
    const err = await vlm.countTokens({ messages: userMessage({ data: new Uint8Array(3000 * 3), width: 3000, height: 1, channels: 3 }, 'hi') }).catch((e) => e);
    assert.equal(err.code, 'ERR_IMAGE_INVALID');
  });

  test('a throwing onProgress does not take the process down', async () => {
    const m = await loadModel({ ...files, threads: 2, contextSize: 256, onProgress: () => { throw new Error('user bug'); } });
    await m.dispose();
  });

  test('the model is still usable after all of that', async () => {
    const r = await vlm.generate({ messages: userMessage(images.square, 'Hi'), maxTokens: 4 });
    assert.equal(r.usage.completionTokens, 4);
  });

  test('a text-only model refuses images with a typed error', async () => {
    const text = await loadModel({ model: files.model, threads: 2, contextSize: 512 });
    try {
      const err = await text.generate({ messages: userMessage(images.square, 'hi') }).catch((e) => e);
      assert.equal(err.code, 'ERR_NO_VISION');
      const ok = await text.generate({ messages: userMessage(null, 'hi'), maxTokens: 2 });
      assert.equal(ok.usage.completionTokens, 2);
    } finally {
      await text.dispose();
    }
  });
});
