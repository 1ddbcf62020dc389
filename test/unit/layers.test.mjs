// The native layers, enforced by includes: the engine thread's files never see Napi (so they
// cannot touch JS values), TextStream stands alone, and no two native files' headers include each
// other in a cycle. Reads #include lines (and, for the Napi rule, the compiler's own include list).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cxx, noCompiler, root } from './cxx.mjs';

const native = join(root, 'native');
const files = readdirSync(native).filter((f) => /\.(h|cc)$/.test(f));
const localIncludes = (f) => [...readFileSync(join(native, f), 'utf8').matchAll(/^#include "([^"]+)"/gm)].map((m) => m[1]);

/** Every file `f` reaches through the addon's own headers (llama.cpp's are not followed). */
function reach(f, seen = new Set()) {
  for (const h of localIncludes(f)) {
    if (seen.has(h)) continue;
    seen.add(h);
    if (files.includes(h)) reach(h, seen);
  }
  return seen;
}

// the engine thread and everything it runs, the model and the projector: plain C++
const NAPI_FREE = ['scheduler', 'request', 'events', 'sampler', 'text_stream', 'prompt', 'projector', 'model', 'tokens',
  'chat_template', 'gguf_check', 'options', 'memory', 'image_cache', 'errors', 'log', 'backends'];

test('the engine side includes nothing that includes napi.h', () => {
  for (const m of NAPI_FREE) {
    for (const f of [`${m}.h`, `${m}.cc`].filter((x) => files.includes(x))) {
      const napi = [...reach(f)].filter((h) => h.startsWith('napi') || h === 'js.h' || h === 'emitter.h' || h === 'jobs.h');
      assert.deepEqual(napi, [], `${f} reaches ${napi.join(', ')}`);
      assert.ok(!/^#include <napi/m.test(readFileSync(join(native, f), 'utf8')), `${f} includes napi.h`);
    }
  }
});

test('the compiler agrees: scheduler.cc is compiled without napi.h', (t) => {
  const includes = ['native', 'deps/llama.cpp/include', 'deps/llama.cpp/ggml/include', 'deps/llama.cpp/src', 'deps/llama.cpp/tools/mtmd'];
  if (noCompiler) return t.skip(noCompiler);
  if (!existsSync(join(root, 'deps/llama.cpp/include/llama.h'))) return t.skip('no llama.cpp source (node deps/provision.mjs)');
  const r = spawnSync(cxx, ['-std=c++17', '-M', ...includes.flatMap((d) => ['-I', join(root, d)]), join(native, 'scheduler.cc')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes('text_stream.h'), 'precondition: the dependency list is complete');
  assert.ok(!/napi\.h|node_api\.h/.test(r.stdout), 'scheduler.cc pulls in Napi');
});

test('TextStream includes neither napi.h nor llama.h', () => {
  for (const f of ['text_stream.h', 'text_stream.cc']) {
    const text = readFileSync(join(native, f), 'utf8');
    assert.ok(!/#include [<"](napi|llama)/.test(text), f);
    for (const h of reach(f)) assert.ok(h === 'text_stream.h', `${f} reaches ${h}`);
  }
});

test('no include cycle between the native modules (a module = its .h and .cc)', () => {
  const modules = [...new Set(files.map((f) => f.replace(/\.(h|cc)$/, '')))];
  const deps = new Map(modules.map((m) => [m, new Set()]));
  for (const f of files) {
    const m = f.replace(/\.(h|cc)$/, '');
    for (const h of localIncludes(f)) {
      const d = h.replace(/\.h$/, '');
      if (d !== m && deps.has(d)) deps.get(m).add(d);
    }
  }
  const state = new Map(); // 1: on the path, 2: done
  const visit = (m, path) => {
    if (state.get(m) === 2) return;
    assert.notEqual(state.get(m), 1, `include cycle: ${[...path, m].join(' -> ')}`);
    state.set(m, 1);
    for (const d of deps.get(m)) visit(d, [...path, m]);
    state.set(m, 2);
  };
  for (const m of modules) visit(m, []);
});
