// Hub downloads against a local mock hub (no internet): resolution, cache layout, resume,
// checksums, auth, offline mode, locking between processes, abort, progress, cache listing.
// Over 400 lines on purpose: every case shares one mock hub and its request log; split, each file
// would start its own server and repeat its setup.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { AbortError, DownloadError, InvalidArgumentError, ModelLoadError } from '../../dist/errors.js';
import { listCached, pullModel, removeCached } from '../../dist/hub/index.js';

const execFileP = promisify(execFile);
const hubUrl = new URL('../../dist/hub/index.js', import.meta.url).href;

for (const k of ['HF_TOKEN', 'HF_HUB_OFFLINE', 'MODEL_ENDPOINT', 'HF_ENDPOINT', 'SMOLVLM_HUB_NO_SYMLINKS']) delete process.env[k];

const REPO = 'ggml-org/SmolVLM-256M-Instruct-GGUF';
const COMMIT = createHash('sha1').update('commit-1').digest('hex');
const sha256 = (b) => createHash('sha256').update(b).digest('hex');

/** Deterministic bytes (xorshift32). */
function bytes(seed, n) {
  const out = Buffer.alloc(n);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const M_Q8 = 'SmolVLM-256M-Instruct-Q8_0.gguf';
const M_F16 = 'SmolVLM-256M-Instruct-f16.gguf';
const P_Q8 = 'mmproj-SmolVLM-256M-Instruct-Q8_0.gguf';
const P_F16 = 'mmproj-SmolVLM-256M-Instruct-f16.gguf';
const FILES = new Map([
  ['README.md', Buffer.from('# fake repo\n')],
  [M_F16, bytes(2, 400_000)],
  [M_Q8, bytes(1, 300_000)],
  [P_F16, bytes(4, 250_000)],
  [P_Q8, bytes(3, 200_000)],
]);
const BY_SHA = new Map([...FILES].map(([path, b]) => [sha256(b), path]));

function treeEntries() {
  return [...FILES].map(([path, b]) => path.endsWith('.gguf')
    ? { type: 'file', oid: createHash('sha1').update(path).digest('hex'), size: b.length, path, lfs: { oid: sha256(b), size: b.length, pointerSize: 134 } }
    : { type: 'file', oid: createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex'), size: b.length, path });
}

/** A mock hub: refs + tree API (paginated), resolve -> 302 -> /cdn with Range support. */
async function startHub() {
  const state = {
    log: [], token: undefined, cutAfter: undefined, ignoreRange: false, corrupt: new Set(),
    chunk: 0, delayMs: 0, stallApi: false, holdCdn: undefined,
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const entry = { path: url.pathname, range: req.headers.range, auth: req.headers.authorization, status: 0 };
    state.log.push(entry);
    const send = (status, body, headers = {}) => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (state.token && req.headers.authorization !== `Bearer ${state.token}`) {
      return send(401, { error: 'Invalid credentials' }, { 'x-error-code': 'RepoNotFound', 'x-error-message': 'Invalid credentials in Authorization header' });
    }
    let m;
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/refs$/.exec(url.pathname))) {
      if (state.stallApi) return; // never answers
      if (m[1] !== REPO) return send(404, { error: 'Repository not found' }, { 'x-error-code': 'RepoNotFound' });
      return send(200, { branches: [{ name: 'dev', ref: 'refs/heads/dev', targetCommit: 'b'.repeat(40) }, { name: 'main', ref: 'refs/heads/main', targetCommit: COMMIT }], tags: [], converts: [] });
    }
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([0-9a-f]{40})$/.exec(url.pathname))) {
      if (m[1] !== REPO || m[2] !== COMMIT) return send(404, { error: 'not found' });
      assert.equal(url.searchParams.get('recursive'), 'true');
      const all = treeEntries();
      const from = Number(url.searchParams.get('cursor') ?? 0);
      const next = from + 2 < all.length ? { link: `<${url.pathname}?recursive=true&cursor=${from + 2}>; rel="next"` } : {};
      return send(200, all.slice(from, from + 2), next);
    }
    if ((m = /^\/([^/]+\/[^/]+)\/resolve\/([0-9a-f]{40})\/(.+)$/.exec(url.pathname))) {
      const path = decodeURIComponent(m[3]);
      if (m[1] !== REPO || m[2] !== COMMIT || !FILES.has(path)) return send(404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound' });
      entry.status = 302;
      res.writeHead(302, { location: `/cdn/${sha256(FILES.get(path))}?sig=secret` });
      return res.end();
    }
    if ((m = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname)) && BY_SHA.has(m[1])) {
      if (state.holdCdn) await state.holdCdn();
      const path = BY_SHA.get(m[1]);
      let data = FILES.get(path);
      if (state.corrupt.has(path)) data = bytes(99, data.length);
      let start = 0;
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (range && !state.ignoreRange) {
        start = Number(range[1]);
        if (start >= data.length) return send(416, '', { 'content-range': `bytes */${data.length}` });
        entry.status = 206;
        res.writeHead(206, { 'content-length': data.length - start, 'content-range': `bytes ${start}-${data.length - 1}/${data.length}`, 'accept-ranges': 'bytes' });
      } else {
        entry.status = 200;
        res.writeHead(200, { 'content-length': data.length, 'accept-ranges': 'bytes' });
      }
      const end = state.cutAfter === undefined ? data.length : Math.min(data.length, start + state.cutAfter);
      const step = state.chunk || end - start || 1;
      for (let off = start; off < end; off += step) {
        if (res.destroyed) return;
        const ok = res.write(data.subarray(off, Math.min(end, off + step)));
        if (state.delayMs) await sleep(state.delayMs);
        else if (!ok) await new Promise((r) => res.once('drain', r));
      }
      if (end < data.length) {
        entry.cut = true;
        // let the client read what was sent (an erroring stream drops its unread chunks), then cut
        await new Promise((r) => res.write('', r));
        await sleep(30);
        return res.socket.destroy();
      }
      return res.end();
    }
    send(404, { error: 'no route' });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${server.address().port}`;
  return {
    endpoint,
    state,
    fileRequests: () => state.log.filter((e) => e.path.startsWith('/cdn/') || e.path.includes('/resolve/')),
    cdn: (path) => state.log.filter((e) => e.path === `/cdn/${sha256(FILES.get(path))}`),
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

let hub;
let cacheDir;
const tmpRoot = mkdtempSync(join(tmpdir(), 'smolvlm-hub-test-'));
let n = 0;
const opts = (extra = {}) => ({ endpoint: hub.endpoint, cacheDir, ...extra });
const repoDir = () => join(cacheDir, 'models--ggml-org--SmolVLM-256M-Instruct-GGUF');
const blobsDir = () => join(repoDir(), 'blobs');
const blob = (path) => join(blobsDir(), sha256(FILES.get(path)));
const ls = (dir) => (existsSync(dir) ? readdirSync(dir).sort() : []);

before(async () => {
  hub = await startHub();
});
after(async () => {
  await hub.close();
  rmSync(tmpRoot, { recursive: true, force: true });
});
beforeEach(() => {
  cacheDir = join(tmpRoot, `cache-${++n}`);
  Object.assign(hub.state, { log: [], token: undefined, cutAfter: undefined, ignoreRange: false, corrupt: new Set(), chunk: 0, delayMs: 0, stallApi: false, holdCdn: undefined });
});
afterEach(() => {
  for (const k of ['HF_TOKEN', 'HF_HUB_OFFLINE', 'SMOLVLM_HUB_NO_SYMLINKS']) delete process.env[k];
});

function assertFile(file, path) {
  const want = FILES.get(path);
  assert.equal(file.path, path);
  assert.equal(file.size, want.length);
  assert.equal(file.sha256, sha256(want));
  assert.equal(file.localPath, join(repoDir(), 'snapshots', COMMIT, path));
  assert.ok(readFileSync(file.localPath).equals(want), `${path}: bytes`);
}

describe('arguments', () => {
  test('bad arguments', async () => {
    await assert.rejects(pullModel('not a repo', undefined, opts()), InvalidArgumentError);
    await assert.rejects(pullModel(`${REPO}:Q8_0`, 'f16', opts()), InvalidArgumentError);
    await assert.rejects(pullModel(REPO, undefined, opts({ endpoint: 'ftp://x' })), InvalidArgumentError);
    await assert.rejects(removeCached('../etc', { cacheDir }), InvalidArgumentError);
  });
});

describe('pull', () => {
  test('clean pull: default quant, layout, checksums; a second pull downloads nothing', async () => {
    const r = await pullModel(REPO, undefined, opts());
    assert.equal(r.repo, REPO);
    assert.equal(r.commit, COMMIT);
    assertFile(r.model, M_Q8);
    assertFile(r.mmproj, P_Q8);
    // huggingface_hub layout: relative symlinks into blobs/, refs/main
    for (const f of [r.model, r.mmproj]) {
      assert.ok(lstatSync(f.localPath).isSymbolicLink());
      assert.equal(readlinkSync(f.localPath), join('..', '..', 'blobs', f.sha256));
    }
    assert.equal(readFileSync(join(repoDir(), 'refs', 'main'), 'utf8'), COMMIT);
    assert.deepEqual(ls(blobsDir()), [sha256(FILES.get(M_Q8)), sha256(FILES.get(P_Q8))].sort());
    assert.deepEqual(ls(join(repoDir(), 'snapshots', COMMIT)), [P_Q8, M_Q8].sort());
    // resolve went through the redirect; the tree was paginated
    assert.equal(hub.state.log.filter((e) => e.path.includes('/tree/')).length, 3);
    assert.equal(hub.fileRequests().length, 4);

    hub.state.log = [];
    const again = await pullModel(REPO, undefined, opts());
    assert.deepEqual(again, r);
    assert.equal(hub.fileRequests().length, 0, 'no file requests');
  });

  test(':f16 picks the f16 model and the f16 projector (case-insensitive)', async () => {
    const a = await pullModel(`${REPO}:f16`, undefined, opts());
    assertFile(a.model, M_F16);
    assertFile(a.mmproj, P_F16);
    const b = await pullModel(REPO, 'F16', opts());
    assert.deepEqual(b, a);
    const c = await pullModel(REPO, 'q8_0', opts());
    assertFile(c.model, M_Q8);
    assertFile(c.mmproj, P_Q8);
  });

  test('progress: throttled events that end at total, for each file', async () => {
    hub.state.chunk = 16_384;
    hub.state.delayMs = 2;
    const events = [];
    await pullModel(REPO, undefined, opts({ onProgress: (p) => events.push(p) }));
    for (const path of [M_Q8, P_Q8]) {
      const mine = events.filter((e) => e.file === path);
      assert.ok(mine.length >= 2, `${path}: ${mine.length} events`);
      for (let i = 1; i < mine.length; i++) assert.ok(mine[i].downloaded >= mine[i - 1].downloaded);
      assert.ok(mine.every((e) => e.total === FILES.get(path).length));
      assert.equal(mine.at(-1).downloaded, FILES.get(path).length);
      assert.ok(mine.length < 30, 'throttled');
    }
    // cached: still one final event per file
    const cached = [];
    await pullModel(REPO, undefined, opts({ onProgress: (p) => cached.push(p) }));
    assert.deepEqual(cached.map((e) => [e.file, e.downloaded === e.total]), [[M_Q8, true], [P_Q8, true]]);
  });

  test('a cut transfer is retried with Range, and the next pull resumes it', async () => {
    hub.state.cutAfter = 60_000; // every response stops after 60 kB: 3 attempts get 180 kB of 300 kB
    hub.state.chunk = 16_384;
    hub.state.delayMs = 2;
    const err = await pullModel(REPO, undefined, opts()).catch((e) => e);
    assert.ok(err instanceof DownloadError, String(err));
    assert.equal(err.code, 'ERR_DOWNLOAD_FAILED');
    assert.match(err.message, new RegExp(`${hub.endpoint}/${REPO}/resolve/${COMMIT}/${M_Q8}`));
    const got = hub.cdn(M_Q8);
    assert.equal(got.length, 3);
    assert.equal(got[0].range, undefined);
    assert.match(got[1].range, /^bytes=[1-9]\d*-$/);
    assert.ok(got.every((e) => e.cut));
    const partial = `${blob(M_Q8)}.incomplete`;
    const have = statSync(partial).size;
    assert.ok(have > 0 && have < FILES.get(M_Q8).length);
    assert.ok(!existsSync(blob(M_Q8)));
    assert.ok(!existsSync(`${blob(M_Q8)}.lock`), 'lock released');

    hub.state.cutAfter = undefined;
    hub.state.log = [];
    const r = await pullModel(REPO, undefined, opts());
    assertFile(r.model, M_Q8);
    const resumed = hub.cdn(M_Q8);
    assert.equal(resumed.length, 1);
    assert.equal(resumed[0].range, `bytes=${have}-`);
    assert.equal(resumed[0].status, 206);
    assert.deepEqual(ls(blobsDir()), [sha256(FILES.get(M_Q8)), sha256(FILES.get(P_Q8))].sort());
  });

  test('a server that ignores Range: starts over from 0', async () => {
    mkdirSync(blobsDir(), { recursive: true });
    writeFileSync(`${blob(M_Q8)}.incomplete`, FILES.get(M_Q8).subarray(0, 100_000));
    hub.state.ignoreRange = true;
    const r = await pullModel(REPO, undefined, opts());
    assertFile(r.model, M_Q8);
    const reqs = hub.cdn(M_Q8);
    assert.equal(reqs.length, 1);
    assert.equal(reqs[0].range, 'bytes=100000-');
    assert.equal(reqs[0].status, 200);
  });

  test('a partial file that does not add up is downloaded again from scratch', async () => {
    mkdirSync(blobsDir(), { recursive: true });
    writeFileSync(`${blob(M_Q8)}.incomplete`, bytes(7, 100_000));
    const r = await pullModel(REPO, undefined, opts());
    assertFile(r.model, M_Q8);
    assert.deepEqual(hub.cdn(M_Q8).map((e) => e.range), ['bytes=100000-', undefined]);
  });

  test('checksum mismatch: rejected, nothing left in the cache', async () => {
    hub.state.corrupt.add(M_Q8);
    const err = await pullModel(REPO, undefined, opts()).catch((e) => e);
    assert.ok(err instanceof DownloadError && err instanceof ModelLoadError, String(err));
    assert.equal(err.code, 'ERR_CHECKSUM_MISMATCH');
    assert.match(err.message, new RegExp(sha256(FILES.get(M_Q8))));
    assert.deepEqual(ls(blobsDir()), []);
    assert.deepEqual(ls(join(repoDir(), 'snapshots')), []);
    assert.ok(!existsSync(join(repoDir(), 'refs', 'main')));
  });

  test('401 without a token; works with the token option and with HF_TOKEN', async () => {
    hub.state.token = 'hf_mocktoken';
    const err = await pullModel(REPO, undefined, opts()).catch((e) => e);
    assert.ok(err instanceof DownloadError, String(err));
    assert.equal(err.code, 'ERR_HUB_UNAUTHORIZED');
    assert.match(err.message, /HF_TOKEN/);
    assert.match(err.message, /401/);
    const bad = await pullModel(REPO, undefined, opts({ token: 'hf_wrong' })).catch((e) => e);
    assert.equal(bad.code, 'ERR_HUB_UNAUTHORIZED');

    hub.state.log = [];
    const r = await pullModel(REPO, undefined, opts({ token: 'hf_mocktoken' }));
    assertFile(r.model, M_Q8);
    assert.ok(hub.state.log.every((e) => e.auth === 'Bearer hf_mocktoken'));

    rmSync(cacheDir, { recursive: true, force: true });
    process.env.HF_TOKEN = 'hf_mocktoken';
    assertFile((await pullModel(REPO, undefined, opts())).mmproj, P_Q8);
  });

  test('404: unknown repository, unknown quant', async () => {
    const err = await pullModel('ggml-org/nope', undefined, opts()).catch((e) => e);
    assert.ok(err instanceof ModelLoadError, String(err));
    assert.equal(err.code, 'ERR_MODEL_NOT_FOUND');
    assert.match(err.message, /ggml-org\/nope/);
    const q = await pullModel(REPO, 'Q2_K', opts()).catch((e) => e);
    assert.equal(q.code, 'ERR_MODEL_NOT_FOUND');
    assert.match(q.message, /Q2_K/);
    assert.match(q.message, new RegExp(M_F16));
    assert.equal(hub.fileRequests().length, 0);
  });

  test('network failure and timeout name the URL', async () => {
    const dead = await startHub();
    await dead.close();
    const err = await pullModel(REPO, undefined, opts({ endpoint: dead.endpoint })).catch((e) => e);
    assert.ok(err instanceof DownloadError, String(err));
    assert.equal(err.code, 'ERR_DOWNLOAD_FAILED');
    assert.ok(err.message.includes(`${dead.endpoint}/api/models/${REPO}/refs`), err.message);

    hub.state.stallApi = true;
    const t0 = Date.now();
    const slow = await pullModel(REPO, undefined, opts({ timeoutMs: 300 })).catch((e) => e);
    assert.equal(slow.code, 'ERR_DOWNLOAD_FAILED');
    assert.match(slow.message, /300 ms/);
    assert.ok(slow.message.includes(`${hub.endpoint}/api/models/${REPO}/refs`), slow.message);
    assert.ok(Date.now() - t0 < 3000);
  });

  test('no symlinks (SMOLVLM_HUB_NO_SYMLINKS=1): snapshot files are hard links or copies', async () => {
    process.env.SMOLVLM_HUB_NO_SYMLINKS = '1';
    const r = await pullModel(REPO, undefined, opts());
    assertFile(r.model, M_Q8);
    assert.ok(!lstatSync(r.model.localPath).isSymbolicLink());
    assert.ok(lstatSync(r.model.localPath).isFile());
    hub.state.log = [];
    await pullModel(REPO, undefined, opts());
    assert.equal(hub.fileRequests().length, 0);
  });
});

describe('offline', () => {
  test('works from the cache with the hub gone; falls back to the cache online too', async () => {
    const own = await startHub();
    const first = await pullModel(REPO, undefined, { endpoint: own.endpoint, cacheDir });
    const f16 = await pullModel(REPO, 'f16', { endpoint: own.endpoint, cacheDir });
    await own.close();
    assert.deepEqual(await pullModel(REPO, undefined, { endpoint: own.endpoint, cacheDir, offline: true }), first);
    assert.deepEqual(await pullModel(REPO, 'F16', { endpoint: own.endpoint, cacheDir, offline: true }), f16);
    process.env.HF_HUB_OFFLINE = '1';
    const events = [];
    assert.deepEqual(await pullModel(REPO, undefined, { endpoint: own.endpoint, cacheDir, onProgress: (p) => events.push(p) }), first);
    assert.deepEqual(events.map((e) => e.file), [M_Q8, P_Q8]);
    delete process.env.HF_HUB_OFFLINE;
    // online, hub unreachable: the cache answers
    assert.deepEqual(await pullModel(REPO, undefined, { endpoint: own.endpoint, cacheDir }), first);
  });

  test('fails with ERR_OFFLINE naming the repo, the files and how to get them', async () => {
    const err = await pullModel(REPO, 'Q8_0', opts({ offline: true })).catch((e) => e);
    assert.ok(err instanceof DownloadError, String(err));
    assert.equal(err.code, 'ERR_OFFLINE');
    for (const s of [REPO, 'Q8_0', 'mmproj', 'loadModel({ model:', 'smolvlm pull']) assert.ok(err.message.includes(s), `${s} in: ${err.message}`);
    assert.equal(hub.state.log.length, 0, 'no network');

    // a cached snapshot whose projector blob went missing: names that file
    await pullModel(REPO, undefined, opts());
    rmSync(blob(P_Q8));
    hub.state.log = [];
    process.env.HF_HUB_OFFLINE = 'true';
    const missing = await pullModel(REPO, undefined, opts()).catch((e) => e);
    assert.equal(missing.code, 'ERR_OFFLINE');
    assert.ok(missing.message.includes(P_Q8), missing.message);
    const other = await pullModel(REPO, 'f16', opts()).catch((e) => e);
    assert.equal(other.code, 'ERR_OFFLINE');
    assert.ok(other.message.includes(M_Q8), `lists what is cached: ${other.message}`);
    assert.equal(hub.state.log.length, 0, 'no network');
  });
});

describe('locking and abort', () => {
  test('two processes pulling at once produce one correct blob', async () => {
    hub.state.chunk = 16_384;
    hub.state.delayMs = 10;
    // no transfer starts before both processes have asked the hub: they really overlap
    hub.state.holdCdn = async () => {
      while (hub.state.log.filter((e) => e.path.endsWith('/refs')).length < 2) await sleep(10);
    };
    const script = `
      const { pullModel } = await import(${JSON.stringify(hubUrl)});
      const r = await pullModel(${JSON.stringify(REPO)}, undefined, { endpoint: process.argv[1], cacheDir: process.argv[2] });
      console.log(JSON.stringify(r));`;
    const run = () => execFileP(process.execPath, ['--input-type=module', '-e', script, hub.endpoint, cacheDir]);
    const [a, b] = await Promise.all([run(), run()]);
    const ra = JSON.parse(a.stdout);
    const rb = JSON.parse(b.stdout);
    assert.deepEqual(ra, rb);
    assertFile(ra.model, M_Q8);
    assertFile(ra.mmproj, P_Q8);
    assert.equal(hub.cdn(M_Q8).length, 1, 'the model was transferred once');
    assert.equal(hub.cdn(P_Q8).length, 1, 'the projector was transferred once');
    assert.deepEqual(ls(blobsDir()), [sha256(FILES.get(M_Q8)), sha256(FILES.get(P_Q8))].sort());
  });

  test('waits for a live lock holder; takes over a lock whose owner died', async () => {
    mkdirSync(blobsDir(), { recursive: true });
    const lock = `${blob(M_Q8)}.lock`;
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: 'other' }));
    const t0 = Date.now();
    const pending = pullModel(REPO, undefined, opts());
    await sleep(500);
    assert.equal(hub.cdn(M_Q8).length, 0, 'waits while the lock is held');
    rmSync(lock);
    assertFile((await pending).model, M_Q8);
    assert.ok(Date.now() - t0 >= 500);

    rmSync(cacheDir, { recursive: true, force: true });
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => child.on('exit', r));
    mkdirSync(blobsDir(), { recursive: true });
    writeFileSync(lock, JSON.stringify({ pid: child.pid, host: hostname(), token: 'dead' }));
    writeFileSync(`${blob(M_Q8)}.incomplete`, FILES.get(M_Q8).subarray(0, 50_000));
    // the owner has been silent for a while, so a dead pid is believed
    const past = new Date(Date.now() - 120_000);
    utimesSync(lock, past, past);
    utimesSync(`${blob(M_Q8)}.incomplete`, past, past);
    hub.state.log = [];
    assertFile((await pullModel(REPO, undefined, opts())).model, M_Q8);
    assert.equal(hub.cdn(M_Q8)[0].range, 'bytes=50000-', 'resumed the dead owner\'s partial file');
    assert.ok(!existsSync(lock));
  });

  test('abort via signal', async () => {
    const early = new AbortController();
    early.abort();
    const e0 = await pullModel(REPO, undefined, opts({ signal: early.signal })).catch((e) => e);
    assert.ok(e0 instanceof AbortError);
    assert.equal(hub.state.log.length, 0);

    hub.state.chunk = 16_384;
    hub.state.delayMs = 20;
    const ac = new AbortController();
    const err = await pullModel(REPO, undefined, opts({
      signal: ac.signal,
      onProgress: (p) => { if (p.downloaded > 0) ac.abort(); },
    })).catch((e) => e);
    assert.ok(err instanceof AbortError, String(err));
    assert.equal(err.code, 'ERR_ABORTED');
    assert.equal(hub.cdn(M_Q8).length, 1, 'no retry after an abort');
    assert.ok(!existsSync(`${blob(M_Q8)}.lock`), 'lock released');
    assert.ok(!existsSync(blob(M_Q8)));
    assert.ok(existsSync(`${blob(M_Q8)}.incomplete`), 'the partial file stays for a resume');
  });
});

describe('cache listing', () => {
  test('listCached / removeCached', async () => {
    assert.deepEqual(await listCached({ cacheDir }), []);
    await pullModel(REPO, undefined, opts());
    await pullModel(REPO, 'f16', opts());
    const list = await listCached({ cacheDir });
    assert.equal(list.length, 1);
    assert.equal(list[0].repo, REPO);
    assert.equal(list[0].commit, COMMIT);
    assert.deepEqual(list[0].files.map((f) => f.path), [P_F16, P_Q8, M_F16, M_Q8].sort());
    for (const f of list[0].files) {
      assert.equal(f.size, FILES.get(f.path).length);
      assert.ok(readFileSync(f.localPath).equals(FILES.get(f.path)));
    }
    assert.equal(list[0].sizeBytes, [M_Q8, P_Q8, M_F16, P_F16].reduce((s, p) => s + FILES.get(p).length, 0));
    assert.equal(await removeCached(REPO, { cacheDir }), true);
    assert.ok(!existsSync(repoDir()));
    assert.equal(await removeCached(REPO, { cacheDir }), false);
    assert.deepEqual(await listCached({ cacheDir }), []);
  });
});
