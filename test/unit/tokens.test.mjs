// Token pieces (native/tokens.cc): a token's bytes come back whole however long they are, for
// every token of two real vocabularies: StarCoder2's (the fixtures' family, pieces up to 256
// bytes) and GPT-NeoX's (pieces of 512 bytes, past Piece()'s first buffer). test/unit/piece_test.cc
// is compiled with the system compiler against the built libllama; no addon, no model weights.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { cleanUp, compile, noCompiler, root } from './cxx.mjs';

const llama = join(root, 'deps', 'llama.cpp');
// the libraries beside the addon under test
const libDir = process.env.SMOLVLM_BINARY ? dirname(process.env.SMOLVLM_BINARY) : join(root, 'build', 'Release');
const skip =
  noCompiler ||
  (!existsSync(join(libDir, process.platform === 'darwin' ? 'libllama.dylib' : 'libllama.so')) && `no libllama in ${libDir} (build the addon first: npm run build:native)`) ||
  (!existsSync(join(llama, 'include', 'llama.h')) && `no llama.cpp source in ${llama} (node deps/provision.mjs)`);

let driver;
before(() => {
  if (skip) return;
  driver = compile('piece_test', ['test/unit/piece_test.cc', 'native/tokens.cc'], {
    includes: ['native', 'deps/llama.cpp/include', 'deps/llama.cpp/ggml/include'],
    link: ['-L', libDir, `-Wl,-rpath,${libDir}`, '-lllama', '-lggml', '-lggml-base'],
  });
});
after(cleanUp);

function pieces(vocab) {
  const r = spawnSync(driver, [join(llama, 'models', vocab)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const m = /tokens=(\d+) longest=(\d+) mismatches=(\d+)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  return { tokens: Number(m[1]), longest: Number(m[2]), mismatches: Number(m[3]), out: r.stdout };
}

test('every piece of the fixtures\' vocabulary family is whole, up to 256 bytes', { skip }, () => {
  const r = pieces('ggml-vocab-starcoder.gguf');
  assert.equal(r.tokens, 49152);
  assert.equal(r.longest, 256, 'precondition: a piece fills the first buffer exactly');
  assert.equal(r.mismatches, 0, r.out);
});

test('pieces longer than the first buffer are whole too', { skip }, () => {
  const r = pieces('ggml-vocab-gpt-neox.gguf');
  assert.ok(r.longest > 256, `precondition: a piece of ${r.longest} bytes`);
  assert.equal(r.mismatches, 0, r.out);
});
