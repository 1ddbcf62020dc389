// Options: the defaults, the checks of load and sampling options, and the mapping onto the native
// boundary, where every field of the contract (native/js.h reads each one strictly) is sent. No addon.
// Over 400 lines on purpose: it mirrors lib/options.ts section by section (defaults, limits, each
// check, the mapping), so a change there has its test in the same place here.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from '../../dist/errors.js';
import {
  addSpecialOf, checkedImageOptions, checkedLoadOptions, checkedRequest, DEFAULTS, grammarSource, KNOWN_KEYS, LIMITS, nativeGenerateParams, nativeImage,
  nativeOptions, validateLoadOptions, validateResolution, validateSampling,
} from '../../dist/options.js';
import { nearestKey } from '../../dist/keys.js';

const MiB = 1024 * 1024;

// The boundary contract: each field and its JS type.
const LOAD_FIELDS = {
  model: 'string', mmproj: 'string', gpuLayers: 'int', useMmap: 'mmap', useMlock: 'boolean', mmprojGpu: 'boolean', useGpu: 'boolean',
  threads: 'int', imageMinTokens: 'int', imageMaxTokens: 'int', flashAttn: 'int', warmup: 'boolean', imageCacheBytes: 'number',
  lora: 'array', rpc: 'array', rpcTimeoutMs: 'int',
};
const ENGINE_FIELDS = { contextSize: 'int', batchSize: 'int', ubatchSize: 'int', parallel: 'int', threads: 'int', threadsBatch: 'int', flashAttn: 'int', typeK: 'int', typeV: 'int', promptCache: 'boolean', kvUnified: 'boolean' };
const GENERATE_FIELDS = {
  prompt: 'string', addSpecial: 'boolean', parseSpecial: 'boolean', maxTokens: 'int', temperature: 'number', topK: 'int', topP: 'number',
  minP: 'number', repeatPenalty: 'number', repeatLastN: 'int', seed: 'int', ignoreEos: 'boolean', tokens: 'boolean', logprobs: 'boolean', stream: 'boolean', stop: 'array',
  lora: 'array',
};
const IMAGE_FIELDS = { data: 'bytes', width: 'int', height: 'int', id: 'string', longestEdge: 'int', tiling: 'boolean' };

function assertShape(obj, fields, what) {
  assert.deepEqual(Object.keys(obj).sort(), Object.keys(fields).sort(), `${what}: exactly the contract's fields`);
  for (const [k, type] of Object.entries(fields)) {
    const v = obj[k];
    const ok = type === 'int' ? Number.isInteger(v) : type === 'number' ? Number.isFinite(v) : type === 'array' ? Array.isArray(v)
      : type === 'bytes' ? v instanceof Uint8Array : type === 'mmap' ? typeof v === 'boolean' || v === 'auto' : typeof v === type;
    assert.ok(ok, `${what}.${k} is a ${type}, got ${String(v)}`);
  }
}

const invalid = (pattern) => (err) => err instanceof InvalidArgumentError && err.code === 'ERR_INVALID_ARGUMENT' && pattern.test(err.message);

describe('DEFAULTS', () => {
  test('the values the contract names', () => {
    assert.deepEqual(
      {
        contextSize: DEFAULTS.contextSize, parallel: DEFAULTS.parallel, batchSize: DEFAULTS.batchSize, ubatchSize: DEFAULTS.ubatchSize,
        maxTokens: DEFAULTS.maxTokens, temperature: DEFAULTS.temperature, topK: DEFAULTS.topK, topP: DEFAULTS.topP, minP: DEFAULTS.minP,
        repeatPenalty: DEFAULTS.repeatPenalty, repeatLastN: DEFAULTS.repeatLastN, imageCacheBytes: DEFAULTS.imageCacheBytes,
        useMmap: DEFAULTS.useMmap, useMlock: DEFAULTS.useMlock, projectorOnGpu: DEFAULTS.projectorOnGpu, warmup: DEFAULTS.warmup,
        flashAttention: DEFAULTS.flashAttention, kvCacheType: DEFAULTS.kvCacheType, promptCache: DEFAULTS.promptCache, kvUnified: DEFAULTS.kvUnified,
      },
      {
        contextSize: 4096, parallel: 1, batchSize: 2048, ubatchSize: 512, maxTokens: 512, temperature: 0, topK: 40, topP: 0.95, minP: 0.05,
        repeatPenalty: 1, repeatLastN: 64, imageCacheBytes: 32 * MiB, useMmap: 'auto', useMlock: false, projectorOnGpu: true, warmup: true,
        flashAttention: 'auto', kvCacheType: 'f16', promptCache: true, kvUnified: true,
      },
    );
    assert.equal(DEFAULTS.threads, availableParallelism());
  });

  test('frozen', () => {
    assert.ok(Object.isFrozen(DEFAULTS) && Object.isFrozen(DEFAULTS.image) && Object.isFrozen(DEFAULTS.video));
    assert.throws(() => { 'use strict'; DEFAULTS.contextSize = 1; }, TypeError);
  });
});

describe('load options -> native', () => {
  test('every field sent, with the defaults', () => {
    const { load, engine } = nativeOptions({ model: 'm.gguf' }, false);
    assertShape(load, LOAD_FIELDS, 'load');
    assertShape(engine, ENGINE_FIELDS, 'engine');
    const threads = availableParallelism();
    assert.deepEqual(load, {
      model: 'm.gguf', mmproj: '', gpuLayers: 0, useMmap: 'auto', useMlock: false, mmprojGpu: true, useGpu: true, threads,
      imageMinTokens: -1, imageMaxTokens: -1, flashAttn: -1, warmup: true, imageCacheBytes: 32 * MiB, lora: [], rpc: [], rpcTimeoutMs: 5000,
    });
    assert.deepEqual(engine, { contextSize: 4096, batchSize: 2048, ubatchSize: 512, parallel: 1, threads, threadsBatch: threads, flashAttn: -1, typeK: 1, typeV: 1, promptCache: true, kvUnified: true });
  });

  test('every option reaches its field', () => {
    const { load, engine } = nativeOptions(
      {
        model: 'm.gguf', mmproj: 'p.gguf', contextSize: 1024, parallel: 2, batchSize: 256, ubatchSize: 128, threads: 3, projectorOnGpu: false,
        flashAttention: true, kvCacheType: 'q8_0', useMmap: false, useMlock: true, imageMinTokens: 64, imageMaxTokens: 256, warmup: false,
        imageCache: { maxBytes: 1000 }, gpu: { layers: 5 }, promptCache: false, kvUnified: false, lora: [{ path: '/a/b.gguf', scale: 0.5 }, { path: '/a/c.gguf', id: 'c2' }],
        rpc: ['10.0.0.2:50052', 'gpu-box:1'],
      },
      true,
    );
    assert.deepEqual(load, {
      model: 'm.gguf', mmproj: 'p.gguf', gpuLayers: 5, useMmap: false, useMlock: true, mmprojGpu: false, useGpu: true, threads: 3,
      imageMinTokens: 64, imageMaxTokens: 256, flashAttn: 1, warmup: false, imageCacheBytes: 1000,
      lora: [{ path: '/a/b.gguf', id: 'b', scale: 0.5 }, { path: '/a/c.gguf', id: 'c2', scale: 1 }],
      rpc: ['10.0.0.2:50052', 'gpu-box:1'], rpcTimeoutMs: 5000,
    });
    assert.deepEqual(engine, { contextSize: 1024, batchSize: 256, ubatchSize: 128, parallel: 2, threads: 3, threadsBatch: 3, flashAttn: 1, typeK: 8, typeV: 8, promptCache: false, kvUnified: false });
  });

  test('gpu', () => {
    const layers = (gpu, present) => {
      const { load } = nativeOptions({ model: 'm', gpu }, present);
      return [load.gpuLayers, load.useGpu];
    };
    assert.deepEqual(layers(undefined, false), [0, true], "'auto' without a GPU: no layers");
    assert.deepEqual(layers(undefined, true), [-1, true], "'auto' with a GPU: all layers, then fitted");
    assert.deepEqual(layers('auto', true), [-1, true]);
    assert.deepEqual(layers(true, false), [-1, true], 'true: all layers, unchecked');
    assert.deepEqual(layers(false, true), [0, false], 'false: the CPU alone');
    assert.deepEqual(layers({ layers: 7 }, false), [7, true]);
    assert.deepEqual(layers({ layers: -1 }, true), [-1, true]);
    assert.deepEqual(layers({ memory: '2GB' }, true), [-1, true], '{ memory }: all layers, then fitted');
    // with rpc-servers every layer is offloaded (to them first), without a local GPU too
    const rpc = (gpu, present) => {
      const { load } = nativeOptions({ model: 'm', gpu, rpc: ['h:1'] }, present);
      return [load.gpuLayers, load.useGpu];
    };
    assert.deepEqual(rpc(undefined, false), [-1, true]);
    assert.deepEqual(rpc(false, false), [-1, false], 'gpu: false keeps local GPUs out, not the remote devices');
    assert.deepEqual(rpc({ layers: 3 }, false), [3, true]);
  });

  test('flash attention, KV cache types, image cache', () => {
    const at = (o) => nativeOptions({ model: 'm', ...o }, false);
    assert.equal(at({ flashAttention: 'auto' }).engine.flashAttn, -1);
    assert.equal(at({ flashAttention: false }).load.flashAttn, 0);
    assert.equal(at({ flashAttention: true }).engine.flashAttn, 1);
    for (const [type, id] of Object.entries({ f32: 0, f16: 1, q4_0: 2, q8_0: 8, bf16: 30 })) {
      const { engine } = at({ kvCacheType: type, flashAttention: true });
      assert.deepEqual([engine.typeK, engine.typeV], [id, id], type);
    }
    // a quantized V cache needs flash attention: 'auto' turns it on rather than leave llama.cpp to fail
    for (const kvCacheType of ['q8_0', 'q4_0']) {
      assert.equal(at({ kvCacheType }).engine.flashAttn, 1, kvCacheType);
      assert.equal(at({ kvCacheType, flashAttention: 'auto' }).load.flashAttn, 1, kvCacheType);
    }
    assert.equal(at({ kvCacheType: 'f16' }).engine.flashAttn, -1);
    assert.equal(at({ imageCache: false }).load.imageCacheBytes, 0);
    assert.equal(at({ imageCache: {} }).load.imageCacheBytes, 32 * MiB);
    assert.equal(at({ imageCache: { maxBytes: 0 } }).load.imageCacheBytes, 0);
  });
});

describe('load option checks', () => {
  const ok = (o) => validateLoadOptions({ model: 'm.gguf', ...o }, 'loadModel');
  const bad = (o, pattern) => assert.throws(() => ok(o), invalid(pattern), JSON.stringify(o));

  test('the options object and the model', () => {
    assert.throws(() => validateLoadOptions(undefined, 'loadModel'), invalid(/^loadModel: options object expected$/));
    assert.throws(() => validateLoadOptions({}, 'estimateMemory'), invalid(/^estimateMemory: options\.model must be/));
    bad({ model: '' }, /options\.model/);
    bad({ mmproj: '' }, /options\.mmproj must be a path/);
    bad({ mmproj: 3 }, /options\.mmproj must be a path/);
  });

  test('integer ranges', () => {
    const ranges = { contextSize: [16, 1 << 24], parallel: [1, 256], batchSize: [1, 1 << 20], ubatchSize: [1, 1 << 20], threads: [1, Math.min(256, 4 * availableParallelism())], imageMinTokens: [1, 1 << 20], imageMaxTokens: [1, 1 << 20] };
    for (const [k, [lo, hi]] of Object.entries(ranges)) {
      ok({ [k]: lo });
      ok({ [k]: hi });
      bad({ [k]: lo - 1 }, new RegExp(`^${k} must be an integer in \\[${lo}, ${hi}\\]$`));
      bad({ [k]: hi + 1 }, new RegExp(`^${k} must be an integer in`));
      bad({ [k]: lo + 0.5 }, new RegExp(`^${k} must be an integer in`));
      bad({ [k]: String(lo) }, new RegExp(`^${k} must be an integer in`));
    }
    ok({ parallel: 256, batchSize: 256, contextSize: 256 });
  });

  test('parallel must not exceed batchSize or contextSize (given or default)', () => {
    const rule = /^parallel must not exceed batchSize or contextSize/;
    bad({ parallel: 8, batchSize: 4 }, rule);
    bad({ parallel: 32, contextSize: 16 }, rule);
    ok({ parallel: 4, batchSize: 4, contextSize: 16 });
    ok({ parallel: 256 }); // within the default batchSize (2048) and contextSize (4096)
  });

  test('gpu forms', () => {
    for (const gpu of ['auto', true, false, { layers: -1 }, { layers: 0 }, { memory: 1e9 }, { memory: '2GB' }]) ok({ gpu });
    bad({ gpu: 'yes' }, /^gpu must be 'auto', a boolean, \{ layers \} or \{ memory \}$/);
    bad({ gpu: null }, /^gpu must be/);
    bad({ gpu: {} }, /^gpu needs one of layers/);
    bad({ gpu: { layers: 1, memory: 1 } }, /^gpu needs one of layers/);
    bad({ gpu: { layers: 1.5 } }, /^gpu\.layers must be an integer in \[-1, 100000\]$/);
    bad({ gpu: { layers: -2 } }, /^gpu\.layers/);
    bad({ gpu: { memory: 'lots' } }, /^gpu\.memory must be bytes or a size/);
    bad({ gpu: { memory: 0 } }, /^gpu\.memory must be a positive number of bytes$/);
  });

  test('memoryLimit and imageCache', () => {
    ok({ memoryLimit: '1.5GB' });
    ok({ memoryLimit: 1e9 });
    bad({ memoryLimit: '1.5 lightyears' }, /^memoryLimit must be bytes or a size/);
    bad({ memoryLimit: -1 }, /^memoryLimit must be a positive number/);
    ok({ imageCache: false });
    ok({ imageCache: { maxBytes: 0 } });
    bad({ imageCache: { maxBytes: -1 } }, /^imageCache\.maxBytes must be an integer/);
  });

  test('KV cache types; quantized ones need flash attention', () => {
    for (const kvCacheType of ['f32', 'f16', 'bf16', 'q8_0', 'q4_0']) ok({ kvCacheType });
    for (const kvCacheType of ['q3', 'F16', 'toString', '']) bad({ kvCacheType }, /^kvCacheType must be one of f32, f16, q4_0, q8_0, bf16$/);
    bad({ kvCacheType: 'q8_0', flashAttention: false }, /^kvCacheType 'q8_0' needs flash attention/);
    bad({ kvCacheType: 'q4_0', flashAttention: false }, /^kvCacheType 'q4_0' needs flash attention/);
    ok({ kvCacheType: 'q8_0', flashAttention: 'auto' });
    ok({ kvCacheType: 'q8_0' });
    ok({ kvCacheType: 'f16', flashAttention: false });
  });

  test('booleans are booleans (native code takes nothing else)', () => {
    for (const k of ['useMmap', 'useMlock', 'projectorOnGpu', 'warmup']) {
      ok({ [k]: false });
      bad({ [k]: 1 }, new RegExp(`^${k} must be a boolean$`));
    }
    bad({ flashAttention: 'on' }, /^flashAttention must be 'auto', true or false$/);
    bad({ onProgress: 'no' }, /^onProgress must be a function$/);
  });
});

describe('sampling checks', () => {
  const ok = (r) => validateSampling({ messages: [], ...r });
  const bad = (r, pattern) => assert.throws(() => ok(r), invalid(pattern), JSON.stringify(r));

  test('ranges', () => {
    ok({ maxTokens: 1, temperature: 0, topK: 0, topP: 1, minP: 0, repeatPenalty: 0.01, repeatLastN: -1, seed: 0xffffffff });
    ok({ temperature: 100, repeatPenalty: 100, seed: 0 });
    bad({ maxTokens: 0 }, /^maxTokens must be an integer in \[1, 2147483647\]$/);
    bad({ maxTokens: 1.5 }, /^maxTokens/);
    bad({ temperature: -1 }, /^temperature must be a number in \[0, 100\]$/);
    bad({ temperature: NaN }, /^temperature/);
    bad({ topK: -1 }, /^topK/);
    bad({ topP: 1.01 }, /^topP must be a number in \[0, 1\]$/);
    bad({ minP: -0.1 }, /^minP/);
    bad({ repeatPenalty: 0 }, /^repeatPenalty must be a number in \[0\.01, 100\]$/);
    bad({ repeatLastN: -2 }, /^repeatLastN/);
    bad({ seed: -1 }, /^seed must be an integer in \[0, 4294967295\]$/);
    bad({ seed: 2 ** 32 }, /^seed/);
  });

  test('stop strings and booleans', () => {
    ok({ stop: [] });
    ok({ stop: ['\n', 'END'] });
    bad({ stop: 'END' }, /^stop must be an array of non-empty strings$/);
    bad({ stop: [''] }, /^stop must be/);
    bad({ stop: [3] }, /^stop must be/);
    for (const k of ['ignoreEos', 'tokens', 'logprobs']) bad({ [k]: 'yes' }, new RegExp(`^${k} must be a boolean$`));
    assert.throws(() => validateSampling({ prompt: 'x', addSpecial: 0 }), invalid(/^addSpecial must be a boolean$/));
  });

  test('jsonSchema and grammar: shapes, combinations, what the converter would silently widen', () => {
    const point = { type: 'object', properties: { x: { type: 'integer' } } };
    ok({ jsonSchema: { type: 'object', properties: { a: point, b: point } } }); // shared, not cyclic
    ok({ jsonSchema: { $defs: { p: point }, $ref: '#/$defs/p', pattern: '^a+$', enum: ['x'], properties: { pattern: { type: 'string' } } } });
    ok({ grammar: 'root ::= "a"', stop: ['b'] });
    bad({ jsonSchema: null }, /^jsonSchema must be a JSON Schema object$/);
    bad({ jsonSchema: 'x' }, /^jsonSchema must be a JSON Schema object$/);
    bad({ grammar: ' ' }, /^grammar must be a non-empty GBNF string$/);
    bad({ grammar: 'root ::= "a"', jsonSchema: {} }, /^jsonSchema and grammar cannot be combined/);
    bad({ jsonSchema: {}, ignoreEos: true }, /^ignoreEos cannot be combined with jsonSchema/);
    bad({ jsonSchema: {}, stop: ['}'] }, /^stop cannot be combined with jsonSchema/);
    bad({ jsonSchema: { items: [{ $ref: 'other.json#/a' }] } }, /^jsonSchema\.items\[0\]\.\$ref 'other\.json#\/a' is not supported/);
    bad({ jsonSchema: { properties: { a: { pattern: 'abc' } } } }, /^jsonSchema\.properties\.a\.pattern 'abc' is not supported/);
    const cyclic = { properties: {} };
    cyclic.properties.me = cyclic;
    assert.throws(() => ok({ jsonSchema: cyclic }), invalid(/^jsonSchema\.properties\.me refers back to itself/));
  });

  test('grammarSource: the schema as JSON text or the GBNF, nothing without either', () => {
    assert.equal(grammarSource({ messages: [] }), undefined);
    assert.deepEqual(grammarSource({ messages: [], grammar: 'root ::= "a"' }), { jsonSchema: '', gbnf: 'root ::= "a"' });
    assert.deepEqual(grammarSource({ messages: [], jsonSchema: { type: 'integer' } }), { jsonSchema: '{"type":"integer"}', gbnf: '' });
    assert.throws(() => grammarSource({ messages: [], jsonSchema: { n: 1n } }), invalid(/^jsonSchema cannot be written as JSON/));
  });
});

describe('generate request -> native', () => {
  test('every field sent, with the defaults', () => {
    const p = nativeGenerateParams({ messages: [] }, 'the prompt', 4096, [], false);
    assertShape(p, GENERATE_FIELDS, 'params');
    const { seed, ...rest } = p;
    assert.deepEqual(rest, {
      prompt: 'the prompt', addSpecial: true, parseSpecial: true, maxTokens: 512, temperature: 0, topK: 40, topP: 0.95, minP: 0.05,
      repeatPenalty: 1, repeatLastN: 64, ignoreEos: false, tokens: false, logprobs: false, stream: false, stop: [], lora: [],
    });
    assert.ok(seed >= 0 && seed <= 0xffffffff, 'a random uint32 seed');
  });

  test('every option reaches its field; -1 looks back over the whole context', () => {
    const p = nativeGenerateParams(
      { prompt: 'x', addSpecial: false, maxTokens: 9, temperature: 0.7, topK: 5, topP: 0.5, minP: 0.1, repeatPenalty: 1.1, repeatLastN: -1, seed: 42, ignoreEos: true, tokens: true, logprobs: true, stop: ['s'] },
      'x',
      777,
      [],
      true,
    );
    assert.deepEqual(p, {
      prompt: 'x', addSpecial: false, parseSpecial: true, maxTokens: 9, temperature: 0.7, topK: 5, topP: 0.5, minP: 0.1, repeatPenalty: 1.1,
      repeatLastN: 777, seed: 42, ignoreEos: true, tokens: true, logprobs: true, stream: true, stop: ['s'], lora: [],
    });
  });

  test('the BOS token: raw prompts choose, chat always', () => {
    assert.equal(addSpecialOf({ messages: [] }), true);
    assert.equal(addSpecialOf({ prompt: 'x' }), true);
    assert.equal(addSpecialOf({ prompt: 'x', addSpecial: false }), false);
  });

  test('images: every field sent; 0 = the projector\'s edge', () => {
    const decoded = { data: new Uint8Array(12), width: 2, height: 2, id: 'abc:2x2' };
    const im = nativeImage(decoded, {});
    assertShape(im, IMAGE_FIELDS, 'image');
    assert.deepEqual({ ...im, data: undefined }, { data: undefined, width: 2, height: 2, id: 'abc:2x2', longestEdge: 0, tiling: true });
    assert.equal(im.data, decoded.data, 'the pixels are not copied');
    const set = nativeImage(decoded, { longestEdge: 1024, tiling: false });
    assert.deepEqual([set.longestEdge, set.tiling], [1024, false]);
  });

  test('image resolution checks', () => {
    validateResolution('image 1', {});
    validateResolution('image 1', { longestEdge: 512, tiling: false });
    assert.throws(() => validateResolution('image 2', { longestEdge: 51.2 }), invalid(/^image 2: longestEdge must be a positive integer number of pixels$/));
    assert.throws(() => validateResolution('image 3', { longestEdge: 0 }), invalid(/^image 3: longestEdge must be a positive integer number of pixels$/));
    assert.throws(() => validateResolution('image 3', { tiling: 'no' }), invalid(/^image 3: tiling must be a boolean$/));
  });
});

describe('limits', () => {
  test('threads: four per available core, at most 256', () => {
    const cap = Math.min(256, 4 * availableParallelism());
    assert.equal(LIMITS.threads, cap);
    validateLoadOptions({ model: 'm', threads: cap }, 'loadModel');
    assert.throws(() => validateLoadOptions({ model: 'm', threads: cap + 1 }, 'loadModel'), invalid(new RegExp(`^threads must be an integer in \\[1, ${cap}\\]$`)));
    assert.throws(() => validateLoadOptions({ model: 'm', threads: 1024 }, 'loadModel'), invalid(/^threads/));
  });

  test('stop strings: count and length', () => {
    const ok = (stop) => validateSampling({ prompt: 'x', stop });
    ok(Array.from({ length: 64 }, (_, i) => `s${i}`));
    ok(['x'.repeat(1024)]);
    assert.throws(() => ok(Array.from({ length: 65 }, (_, i) => `s${i}`)), invalid(/^stop: at most 64 strings, got 65$/));
    assert.throws(() => ok(['x'.repeat(1025)]), invalid(/^stop: each string at most 1024 characters$/));
  });

  test('image cache bytes', () => {
    checkedLoadOptions({ model: 'm', imageCache: { maxBytes: 2 ** 40 } }, 'loadModel');
    assert.throws(() => checkedLoadOptions({ model: 'm', imageCache: { maxBytes: 2 ** 40 + 1 } }, 'loadModel'), invalid(/^imageCache\.maxBytes must be an integer in \[0, 1099511627776\]$/));
    for (const imageCache of [null, 5, 'big', true]) {
      assert.throws(() => checkedLoadOptions({ model: 'm', imageCache }, 'loadModel'), invalid(/^imageCache must be false or \{ maxBytes \}$/), String(imageCache));
    }
  });

  test('image options: pixel limit, download size, timeout, switches', () => {
    for (const maxPixels of [-1, 0, NaN, 1.5, Infinity, 2 ** 32, '100']) {
      assert.throws(() => checkedImageOptions({ maxPixels }, 'image'), invalid(/^image\.maxPixels must be an integer in \[1, 4294967295\]$/), String(maxPixels));
    }
    for (const timeoutMs of [-1, 0, NaN]) assert.throws(() => checkedImageOptions({ timeoutMs }, 'image'), invalid(/^image\.timeoutMs must be an integer/));
    assert.throws(() => checkedImageOptions({ maxDownloadBytes: 0 }, 'image'), invalid(/^image\.maxDownloadBytes/));
    for (const remote of [true, 'public ', 'private', null]) assert.throws(() => checkedImageOptions({ remote }, 'image'), invalid(/^image\.remote must be 'public', 'any' or false$/));
    assert.throws(() => checkedImageOptions({ allowFiles: 'no' }, 'image'), invalid(/^image\.allowFiles must be a boolean$/));
    assert.throws(() => checkedImageOptions({ background: { r: 300, g: 0, b: 0 } }, 'image'), invalid(/^image\.background\.r/));
    assert.throws(() => checkedImageOptions({ background: null }, 'image'), invalid(/^image\.background must be/));
    assert.throws(() => checkedImageOptions({ signal: {} }, 'image'), invalid(/^image\.signal must be an AbortSignal$/));
    assert.deepEqual(checkedImageOptions({ maxPixels: 10, remote: 'any', allowFiles: false, background: '#000' }, 'image'), { maxPixels: 10, remote: 'any', allowFiles: false, background: '#000' });
  });

  test('the default pixel limit is 8192 x 8192; remote URLs public only; files allowed', () => {
    assert.equal(DEFAULTS.image.maxPixels, 8192 * 8192);
    assert.equal(DEFAULTS.image.remote, 'public');
    assert.equal(DEFAULTS.image.allowFiles, true);
  });
});

describe('unknown keys and unreadable options', () => {
  test('the nearest known key, within a small edit distance', () => {
    assert.equal(nearestKey('lroa', ['lora', 'model']), 'lora');
    assert.equal(nearestKey('contextSzie', KNOWN_KEYS.load), 'contextSize');
    assert.equal(nearestKey('jsonShema', ['jsonSchema', 'stop']), 'jsonSchema');
    assert.equal(nearestKey('maxtokens', KNOWN_KEYS.request), 'maxTokens');
    assert.equal(nearestKey('temprature', KNOWN_KEYS.request), 'temperature');
    assert.equal(nearestKey('zzzzzz', KNOWN_KEYS.request), undefined);
    assert.equal(nearestKey('x', ['y']), undefined, 'one letter is not a typo of another');
  });

  test('loadModel and estimateMemory options', () => {
    assert.throws(() => checkedLoadOptions({ model: 'm', contextSzie: 10 }, 'loadModel'), invalid(/^loadModel options: unknown option 'contextSzie' \(did you mean 'contextSize'\?\)$/));
    assert.throws(() => checkedLoadOptions({ model: 'm', flashAtention: true }, 'estimateMemory'), invalid(/^estimateMemory options: unknown option 'flashAtention' \(did you mean 'flashAttention'\?\)$/));
    assert.throws(() => checkedLoadOptions({ model: 'm', frobnicate: 1 }, 'loadModel'), invalid(/^loadModel options: unknown option 'frobnicate'$/));
    assert.throws(() => checkedLoadOptions({ model: 'm', hub: { ofline: true } }, 'loadModel'), invalid(/^hub: unknown option 'ofline' \(did you mean 'offline'\?\)$/));
    assert.throws(() => checkedLoadOptions({ model: 'm', imageCache: { maxByte: 1 } }, 'loadModel'), invalid(/^imageCache: unknown option 'maxByte' \(did you mean 'maxBytes'\?\)$/));
    assert.throws(() => checkedLoadOptions({ model: 'm', gpu: { layer: 1 } }, 'loadModel'), invalid(/^gpu: unknown option 'layer' \(did you mean 'layers'\?\)$/));
    const every = Object.fromEntries(KNOWN_KEYS.load.map((k) => [k, undefined]));
    checkedLoadOptions({ ...every, model: 'm' }, 'loadModel');
  });

  test('requests and image options', () => {
    assert.throws(() => checkedRequest({ prompt: 'x', jsonShema: {} }, 'generate'), invalid(/^generate request: unknown option 'jsonShema' \(did you mean 'jsonSchema'\?\)$/));
    assert.throws(() => checkedRequest({ prompt: 'x', maxToken: 3 }, 'stream'), invalid(/^stream request: unknown option 'maxToken' \(did you mean 'maxTokens'\?\)$/));
    assert.throws(() => checkedRequest({ prompt: 'x', image: { maxPixel: 3 } }, 'countTokens'), invalid(/^image: unknown option 'maxPixel' \(did you mean 'maxPixels'\?\)$/));
    assert.throws(() => checkedRequest({ prompt: 'x', image: { allowRemote: false } }, 'generate'), invalid(/^image: unknown option 'allowRemote'/));
  });

  test('a getter that throws is a caller mistake, not an internal error', () => {
    const trap = (key) => Object.defineProperty({ model: 'm' }, key, { enumerable: true, get() { throw new Error('boom'); } });
    assert.throws(() => checkedLoadOptions(trap('threads'), 'loadModel'), invalid(/^loadModel options\.threads cannot be read: boom$/));
    const req = Object.defineProperty({ prompt: 'x' }, 'maxTokens', { enumerable: true, get() { throw new TypeError('no'); } });
    assert.throws(() => checkedRequest(req, 'generate'), invalid(/^generate request\.maxTokens cannot be read: no$/));
    const proxy = new Proxy({}, { ownKeys() { throw new Error('nope'); } });
    assert.throws(() => checkedRequest(proxy, 'generate'), invalid(/^generate request cannot be read: nope$/));
  });

  test('signal must be an AbortSignal', () => {
    for (const signal of [{}, { aborted: false }, 'x', null]) {
      assert.throws(() => checkedRequest({ prompt: 'x', signal }, 'generate'), invalid(/^signal must be an AbortSignal$/));
      assert.throws(() => checkedLoadOptions({ model: 'm', signal }, 'loadModel'), invalid(/^signal must be an AbortSignal$/));
    }
    checkedRequest({ prompt: 'x', signal: new AbortController().signal }, 'generate');
  });

  test('the checked copy is a plain object; the input is not changed', () => {
    const input = { prompt: 'x', maxTokens: 3, image: { maxPixels: 5 } };
    const out = checkedRequest(input, 'generate');
    assert.deepEqual(out, input);
    assert.notEqual(out, input);
    assert.notEqual(out.image, input.image);
  });
});
