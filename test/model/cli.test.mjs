// The smolvlm command end to end, on the synthetic model, with a local mock of the hub.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadModel } from '../../dist/index.js';
import { ensureFixture, ensureTestImages, root, tempDir, THREADS } from '../helpers.mjs';

const bin = join(root, 'bin', 'smolvlm.mjs');
let files, images, server, endpoint, cache;

// Asynchronous: the mock hub answers from this very process.
function smolvlm(args, { input, env } = {}) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], {
      cwd: root, env: { ...process.env, MODEL_ENDPOINT: endpoint, SMOLVLM_MODELS_DIR: cache, HF_HUB_OFFLINE: '', ...env },
    });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    p.stdin.end(input ?? '');
  });
}

before(async () => {
  files = await ensureFixture({ size: 'tiny' });
  images = await ensureTestImages();
  cache = tempDir();
  // The hub's API for one repo holding the tiny fixture under the real 256M file names.
  const repo = 'ggml-org/SmolVLM-256M-Instruct-GGUF', commit = 'c0ffee'.padEnd(40, '0');
  const blobs = {
    'SmolVLM-256M-Instruct-Q8_0.gguf': readFileSync(files.model),
    'mmproj-SmolVLM-256M-Instruct-Q8_0.gguf': readFileSync(files.mmproj),
  };
  const sha = (b) => createHash('sha256').update(b).digest('hex');
  server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === `/api/models/${repo}/refs`) return res.end(JSON.stringify({ branches: [{ name: 'main', ref: 'refs/heads/main', targetCommit: commit }], tags: [], converts: [] }));
    if (url.pathname === `/api/models/${repo}/tree/${commit}`) {
      return res.end(JSON.stringify(Object.entries(blobs).map(([path, b]) => ({ type: 'file', path, size: b.length, oid: sha(b).slice(0, 40), lfs: { oid: sha(b), size: b.length, pointerSize: 134 } }))));
    }
    const m = url.pathname.match(new RegExp(`^/${repo}/resolve/[^/]+/(.+)$`));
    if (m && blobs[m[1]]) {
      const body = blobs[m[1]];
      const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      res.writeHead(range ? 206 : 200, { 'content-length': body.length - start, 'x-linked-etag': sha(body), 'x-repo-commit': commit });
      return res.end(body.subarray(start));
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Repository not found"}');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${server.address().port}`;
});
after(() => server?.close());

test('describe with the default model downloads it once, streams the answer, and equals the library', async () => {
  const r = await smolvlm(['describe', images.square, '--max-tokens', '12', '--threads', String(THREADS), '-q']);
  assert.equal(r.code, 0, r.stderr);
  const vlm = await loadModel({ ...files, threads: THREADS });
  const lib = await vlm.generate({ messages: [{ role: 'user', content: [{ type: 'image', image: images.square }, { type: 'text', text: 'Describe this image.' }] }], maxTokens: 12 });
  await vlm.dispose();
  assert.equal(r.stdout, `${lib.text.trimStart()}\n`);

  const models = await smolvlm(['models']);
  assert.equal(models.code, 0, models.stderr);
  assert.match(models.stdout, /SmolVLM-256M-Instruct\t\d+\.\d MB\t.*Q8_0\.gguf/);
});

test('describe streams: text arrives before the process ends', async () => {
  const p = spawn(process.execPath, [bin, 'describe', images.landscape, '--max-tokens', '200', '--threads', String(THREADS), '-q'], {
    cwd: root, env: { ...process.env, MODEL_ENDPOINT: endpoint, SMOLVLM_MODELS_DIR: cache },
  });
  let chunks = 0;
  p.stdout.on('data', () => chunks++);
  const code = await new Promise((r) => p.on('exit', r));
  assert.equal(code, 0);
  assert.ok(chunks > 1, `stdout came in ${chunks} pieces`);
});

test('--json is one parseable object with usage and timings', async () => {
  const r = await smolvlm(['describe', images.portrait, '--model', files.model, '--mmproj', files.mmproj, '--max-tokens', '6', '--json', '-q']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.usage.completionTokens, 6);
  assert.ok(out.usage.imageTokens > 0 && out.timings.imageEncodeMs >= 0 && typeof out.text === 'string');
});

test('describe --json-schema constrains the answer; --json carries the parsed value', async () => {
  const dir = tempDir();
  const schema = join(dir, 'schema.json');
  writeFileSync(schema, JSON.stringify({ type: 'object', properties: { color: { enum: ['red', 'blue'] } }, required: ['color'], additionalProperties: false }));
  const r = await smolvlm(['describe', images.square, '--model', files.model, '--mmproj', files.mmproj, '--json-schema', schema, '--json', '-q', '--threads', String(THREADS)]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.finishReason, 'stop');
  assert.ok(['red', 'blue'].includes(out.json.color), r.stdout);
  assert.deepEqual(JSON.parse(out.text), out.json);
  writeFileSync(schema, '{ not json');
  const bad = await smolvlm(['describe', images.square, '--model', files.model, '--mmproj', files.mmproj, '--json-schema', schema, '-q']);
  assert.equal(bad.code, 2, 'a schema that is not JSON is a usage error');
  assert.match(bad.stderr, /--json-schema: .* is not JSON/);
});

test('--longest-edge and --no-tiling trade detail for image tokens', async () => {
  const run = async (...flags) => {
    const r = await smolvlm(['describe', images.square, '--model', files.model, '--mmproj', files.mmproj, '--max-tokens', '2', '--json', '-q', ...flags]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).usage.imageTokens;
  };
  // tiny fixture: 128 px tiles of 4 tokens, longest edge 256 -> 2x2 tiles + overview; at one
  // tile's edge (128) the image is not split, as Hugging Face's processor does it: like --no-tiling
  assert.deepEqual([await run(), await run('--longest-edge', '128'), await run('--no-tiling')], [20, 4, 4]);
  const bad = await smolvlm(['describe', images.square, '--model', files.model, '--mmproj', files.mmproj, '--longest-edge', '64', '-q']);
  assert.equal(bad.code, 2, 'out of range is a usage error');
  assert.match(bad.stderr, /longestEdge must be an integer from 128/);
});

test('info prints the metadata and the memory estimate', async () => {
  const r = await smolvlm(['info', files.model, '--mmproj', files.mmproj, '--ctx', '2048']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /idefics3, \d+px tiles of \d+ tokens/);
  assert.match(r.stdout, /memory +weights .* KV cache .* total \d/);
  const j = JSON.parse((await smolvlm(['info', files.model, '--mmproj', files.mmproj, '--json'])).stdout);
  assert.ok(j.memory.all > 0 && j.vision.tokensPerTile > 0);
});

test('bench reports encode time, speeds and time to first token', async () => {
  const r = await smolvlm(['bench', images.landscape, '--model', files.model, '--mmproj', files.mmproj, '--runs', '1', '--max-tokens', '4', '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^run 1: image encode \d+ ms, prompt [\d.]+ tok\/s, generation [\d.]+ tok\/s, time to first token \d+ ms$/m);
});

test('chat: two turns about one image encode it once', async () => {
  const r = await smolvlm(['chat', '--model', files.model, '--mmproj', files.mmproj, '--max-tokens', '6', '--verbose'], {
    input: `/image ${images.square}\nWhat is this?\nAnd the colours?\n/exit\n`,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.trim().length > 0, 'answers printed');
  const m = /image encodes: (\d+), cache hits: (\d+)/.exec(r.stderr);
  assert.ok(m, r.stderr);
  assert.ok(Number(m[1]) > 0);
  // the second turn reuses the first's KV cache (promptCache), or else the image cache: no encode
  const one = await smolvlm(['chat', '--model', files.model, '--mmproj', files.mmproj, '--max-tokens', '6', '--verbose'], {
    input: `/image ${images.square}\nWhat is this?\n/exit\n`,
  });
  assert.equal(one.code, 0, one.stderr);
  assert.equal(m[1], /image encodes: (\d+)/.exec(one.stderr)?.[1], 'two turns encode what one turn does');
});

test('--help lists every command, build included; build --help is the source build\'s own', async () => {
  const help = await smolvlm(['--help']);
  assert.equal(help.code, 0, help.stderr);
  for (const c of ['describe', 'chat', 'pull', 'models', 'rm', 'info', 'bench', 'eval', 'serve', 'build']) {
    assert.match(help.stdout, new RegExp(`^  ${c}\\b`, 'm'), `${c} listed`);
  }
  const build = await smolvlm(['build', '--help']);
  assert.equal(build.code, 0, build.stderr);
  assert.match(build.stdout, /^Usage: smolvlm build .*--portable/s);
  const viaHelp = await smolvlm(['help', 'build']);
  assert.match(viaHelp.stdout, /--cuda.*--portable/s);
});

test('exit codes: usage 2, missing model 3, bad image 4, memory 5', async () => {
  assert.equal((await smolvlm(['describe'])).code, 2);
  assert.equal((await smolvlm(['describe', images.square, '--max-tokens', 'lots'])).code, 2);
  assert.equal((await smolvlm(['frobnicate'])).code, 2);
  const missing = await smolvlm(['describe', images.square, '--model', '/nonexistent/model.gguf']);
  assert.equal(missing.code, 3, missing.stderr);
  assert.match(missing.stderr, /^smolvlm: .*not found/m);
  assert.ok(!missing.stderr.includes('    at '), 'no stack without --verbose');
  assert.equal((await smolvlm(['describe', '/nonexistent.png', '--model', files.model, '--mmproj', files.mmproj])).code, 4);
  assert.equal((await smolvlm(['describe', images.square, '--model', files.model, '--mmproj', files.mmproj, '--memory-limit', '1MB'])).code, 5);
  assert.equal((await smolvlm(['describe', images.square, '--model', 'nobody/nothing-GGUF'])).code, 3);
});

test('pull, then offline use, then rm', async () => {
  const pulled = await smolvlm(['pull', 'SmolVLM-256M-Instruct', '-q']);
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.match(pulled.stdout, /SmolVLM-256M-Instruct-Q8_0\.gguf\n.*mmproj-SmolVLM-256M-Instruct-Q8_0\.gguf/);
  const offline = await smolvlm(['describe', images.square, '--max-tokens', '3', '--offline', '-q'], { env: { MODEL_ENDPOINT: 'http://127.0.0.1:9' } });
  assert.equal(offline.code, 0, offline.stderr);
  assert.equal((await smolvlm(['rm', 'SmolVLM-256M-Instruct'])).code, 0);
  const gone = await smolvlm(['describe', images.square, '--offline', '-q']);
  assert.equal(gone.code, 3, gone.stderr);
  assert.match(gone.stderr, /offline|cache/i);
});

test('chat from a script exits non-zero when a turn fails', async () => {
  const r = await smolvlm(['chat', '--model', files.model, '--mmproj', files.mmproj, '--max-tokens', '3'], {
    input: `/image /nonexistent/picture.png\nWhat is this?\n`,
  });
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /image not found/);
});

test('a file: URL string works as an image', async () => {
  const r = await smolvlm(['describe', `file://${images.square}`, '--model', files.model, '--mmproj', files.mmproj, '--max-tokens', '3', '-q']);
  assert.equal(r.code, 0, r.stderr);
});

test('describe refuses a loopback image URL (exit 4, typed) unless --allow-private-urls', async () => {
  const png = readFileSync(images.square);
  const hits = [];
  const local = createServer((req, res) => {
    hits.push(req.url);
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length }).end(png);
  });
  await new Promise((r) => local.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${local.address().port}/img.png`;
  const args = ['describe', url, '--model', files.model, '--mmproj', files.mmproj, '--max-tokens', '3', '-q'];
  try {
    const refused = await smolvlm(args);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /^smolvlm: refused: .*loopback.* \(ERR_IMAGE_INVALID\)$/m);
    assert.deepEqual(hits, [], 'nothing reached the local server');
    const allowed = await smolvlm([...args, '--allow-private-urls']);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.ok(allowed.stdout.trim().length > 0, 'an answer');
    assert.deepEqual(hits, ['/img.png']);
    const help = await smolvlm(['describe', '--help']);
    assert.match(help.stdout.replace(/\s+/g, ' '), /--allow-private-urls .*WARNING: only for URLs you trust/);
  } finally {
    local.closeAllConnections();
    await new Promise((r) => local.close(r));
  }
});
