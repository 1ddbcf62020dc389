// lib/lora.ts: the checks of loadModel({ lora }) and of a request's lora, and a request's
// selection resolved to the native set.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { nativeLoraOptions, nativeLoraSet, validateLoraSelection } from '../../dist/lora.js';

const loaded = [
  { id: 'a', path: '/x/a.gguf', scale: 1, alpha: 16, tensors: 2, sizeBytes: 10 },
  { id: 'b', path: '/x/b.gguf', scale: 0, alpha: 0, tensors: 2, sizeBytes: 10 },
  { id: 'c', path: '/x/c.gguf', scale: 0.25, alpha: 0, tensors: 2, sizeBytes: 10 },
];

describe('LoRA options', () => {
  test('load: absolute paths, ids from the file name, scale 1 by default', () => {
    assert.deepEqual(nativeLoraOptions(undefined), []);
    assert.deepEqual(nativeLoraOptions([{ path: 'rel/My.Adapter.GGUF' }, { path: '/x/y.gguf', id: 'z', scale: -0.5 }]), [
      { path: resolve('rel/My.Adapter.GGUF'), id: 'My.Adapter', scale: 1 },
      { path: '/x/y.gguf', id: 'z', scale: -0.5 },
    ]);
  });

  test('load: bad entries name the entry', () => {
    const bad = (v, re) => assert.throws(() => nativeLoraOptions(v), (e) => e.code === 'ERR_INVALID_ARGUMENT' && re.test(e.message));
    bad('a.gguf', /^lora must be an array/);
    bad([null], /^lora\[0\] must be an object/);
    bad([{ path: '' }], /^lora\[0\]\.path/);
    bad([{ path: 'a', scale: Infinity }], /^lora\[0\]\.scale/);
    bad([{ path: 'a', scale: 101 }], /^lora\[0\]\.scale/);
    bad([{ path: 'a', id: '' }], /^lora\[0\]\.id/);
    bad([{ path: '/a/x.gguf' }, { path: '/a/x.gguf', id: 'y' }], /^lora\[1\]: \/a\/x\.gguf is given twice/);
    bad([{ path: '/a/x.gguf' }, { path: '/b/x.gguf' }], /^lora\[1\]: the id 'x' is taken/);
  });

  test('request: shape checks', () => {
    validateLoraSelection(undefined);
    validateLoraSelection([]);
    validateLoraSelection([{ id: 'a' }, { path: '/x/b.gguf', scale: 2 }]);
    const bad = (v, re) => assert.throws(() => validateLoraSelection(v), (e) => e.code === 'ERR_INVALID_ARGUMENT' && re.test(e.message));
    bad({}, /^lora must be an array/);
    bad([{}], /^lora\[0\] needs one of id or path/);
    bad([{ id: 'a', path: 'b' }], /^lora\[0\] needs one of id or path/);
    bad([{ id: 3 }], /^lora\[0\]\.id/);
    bad([{ id: 'a', scale: '1' }], /^lora\[0\]\.scale/);
  });

  test('request: no selection = every adapter at its load scale, zero scales dropped', () => {
    assert.deepEqual(nativeLoraSet(undefined, loaded), [{ index: 0, scale: 1 }, { index: 2, scale: 0.25 }]);
    assert.deepEqual(nativeLoraSet(undefined, []), []);
  });

  test('request: a selection replaces the default set, in index order', () => {
    assert.deepEqual(nativeLoraSet([], loaded), []);
    assert.deepEqual(nativeLoraSet([{ id: 'c' }, { path: '/x/b.gguf', scale: 0.5 }, { id: 'a', scale: 0 }], loaded), [
      { index: 1, scale: 0.5 }, { index: 2, scale: 0.25 },
    ]);
  });

  test('request: unknown or repeated adapters are refused', () => {
    assert.throws(() => nativeLoraSet([{ id: 'nope' }], loaded), /^InvalidArgumentError|no adapter 'nope' was loaded with the model \(loaded: 'a', 'b', 'c'\)/);
    assert.throws(() => nativeLoraSet([{ id: 'a' }], []), /loaded: none/);
    assert.throws(() => nativeLoraSet([{ id: 'a' }, { path: '/x/a.gguf' }], loaded), /picked twice/);
  });
});
