// Downloading a known dataset goes through the hub's transfer code (lib/hub/transfer.ts): resumed
// with a Range request after an interruption, serialized by the lock between processes, checked
// against VLMEvalKit's MD5, never left half-written. A loopback server stands in for VLMEvalKit's
// host; no other network.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fetchDataset, locateDataset } from '../../dist/eval/datasets.js';
import { AbortError, DownloadError } from '../../dist/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'smolvlm-eval-download-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(dir, `d${++n}`);
  mkdirSync(d);
  return d;
};

// A dataset TSV of about 1.5 MB: rows with base64 "images".
const BODY = Buffer.from(['index\timage\tquestion\tanswer\tA\tB',
  ...Array.from({ length: 200 }, (_, i) => `${i}\t${randomBytes(5600).toString('base64')}\tq${i}?\tA\tyes\tno`)].join('\n'));
const MD5 = createHash('md5').update(BODY).digest('hex');
const CHUNK = 64 * 1024;

/**
 * Serves BODY at /X.tsv with Range support. `behave(req, n)` (n = the request's number, from 1)
 * may return { cutAt } (send the headers of the whole, then this many bytes, then drop the
 * connection), { holdAt } (send this many bytes, then wait for `release()`), { slowMs } (a pause
 * between 64 KiB chunks), { corrupt: true } or { noRange: true }.
 */
async function server(behave = () => ({})) {
  const requests = [];
  let release;
  const held = new Promise((r) => (release = r));
  let sent = 0;
  const srv = createServer(async (req, res) => {
    const entry = { url: req.url, range: req.headers.range, sent: 0 };
    const no = requests.push(entry);
    const how = behave(req, no) ?? {};
    if (req.url !== '/X.tsv') return res.writeHead(404).end();
    const body = how.corrupt ? Buffer.concat([BODY.subarray(0, -1), Buffer.from('!')]) : BODY;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    if (m && !how.noRange) {
      start = Number(m[1]);
      if (start >= body.length) return res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
    } else {
      res.writeHead(200, { 'content-length': body.length });
    }
    for (let at = start; at < body.length; at += CHUNK) {
      if (how.cutAt !== undefined && at >= how.cutAt) {
        await new Promise((r) => res.write('', r));
        res.socket.destroy();
        return;
      }
      if (how.holdAt !== undefined && at >= how.holdAt) {
        await held;
        if (res.destroyed || req.socket.destroyed) return;
      }
      const piece = body.subarray(at, Math.min(at + CHUNK, body.length));
      sent += piece.length;
      entry.sent += piece.length;
      if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
      if (how.slowMs) await sleep(how.slowMs);
    }
    res.end();
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${srv.address().port}/X.tsv`,
    requests,
    get sent() {
      return sent;
    },
    release: () => release(),
    close: () => new Promise((r) => {
      srv.closeAllConnections();
      srv.close(r);
    }),
  };
}

const md5Of = (p) => createHash('md5').update(readFileSync(p)).digest('hex');

test('an interrupted transfer resumes with a Range request instead of starting over', async () => {
  const half = 12 * CHUNK;
  const srv = await server((req, no) => (no === 1 ? { cutAt: half } : {}));
  try {
    const d = fresh();
    const dest = join(d, 'X.tsv');
    const events = [];
    await fetchDataset(srv.url, MD5, dest, { onProgress: (p) => events.push(p) });
    assert.equal(md5Of(dest), MD5);
    assert.equal(srv.requests.length, 2);
    assert.equal(srv.requests[0].range, undefined);
    // the retry asks for the rest of what the client kept (fetch may drop the last few KiB it had
    // buffered when the connection broke), and gets only that
    const kept = Number(/^bytes=(\d+)-$/.exec(srv.requests[1].range)?.[1]);
    assert.ok(kept > half / 2 && kept <= half, `resumed at ${kept} of the ${half} bytes sent`);
    assert.equal(srv.requests[1].sent, BODY.length - kept);
    assert.deepEqual(readdirSync(d).sort(), ['X.tsv', 'X.tsv.verified']);
    const last = events.at(-1);
    assert.deepEqual(last, { file: 'X.tsv', downloaded: BODY.length, total: BODY.length });
  } finally {
    await srv.close();
  }
});

test('a download stopped midway (abort, as Ctrl-C) is resumed by the next call from where it stopped', async () => {
  const hold = 10 * CHUNK;
  const srv = await server((req, no) => (no === 1 ? { holdAt: hold } : {}));
  try {
    const d = fresh();
    const dest = join(d, 'X.tsv');
    const ac = new AbortController();
    const first = fetchDataset(srv.url, MD5, dest, { signal: ac.signal });
    // wait for the held bytes to be on disk, then stop
    while (((existsSync(`${dest}.incomplete`) && statSync(`${dest}.incomplete`).size) || 0) < hold) await sleep(20);
    ac.abort();
    await assert.rejects(first, (e) => e instanceof AbortError && e.code === 'ERR_ABORTED');
    srv.release();
    assert.equal(existsSync(dest), false);
    assert.equal(existsSync(`${dest}.lock`), false, 'the lock is released');
    const kept = statSync(`${dest}.incomplete`).size;
    assert.ok(kept >= hold, `${kept} bytes kept`);
    await fetchDataset(srv.url, MD5, dest);
    assert.equal(md5Of(dest), MD5);
    assert.deepEqual(srv.requests.map((r) => r.range), [undefined, `bytes=${kept}-`]);
    assert.equal(existsSync(`${dest}.incomplete`), false);
  } finally {
    srv.release();
    await srv.close();
  }
});

test('a partial file that is already whole (killed before the rename) is checked and kept: a 416 for its length', async () => {
  const srv = await server();
  try {
    const d = fresh();
    const dest = join(d, 'X.tsv');
    writeFileSync(`${dest}.incomplete`, BODY);
    await fetchDataset(srv.url, MD5, dest);
    assert.equal(md5Of(dest), MD5);
    assert.deepEqual(srv.requests.map((r) => r.range), [`bytes=${BODY.length}-`]);
    assert.equal(srv.sent, 0);
  } finally {
    await srv.close();
  }
});

test('a server without Range support: the partial file is dropped and the whole is downloaded again', async () => {
  const srv = await server(() => ({ noRange: true }));
  try {
    const d = fresh();
    const dest = join(d, 'X.tsv');
    writeFileSync(`${dest}.incomplete`, BODY.subarray(0, 5 * CHUNK));
    await fetchDataset(srv.url, MD5, dest);
    assert.equal(md5Of(dest), MD5);
    assert.equal(srv.requests.length, 1);
  } finally {
    await srv.close();
  }
});

test('two processes downloading the same dataset at once: one downloads under the lock, the other waits and uses its file', async () => {
  const srv = await server(() => ({ slowMs: 15 }));
  try {
    const d = fresh();
    const dest = join(d, 'X.tsv');
    const mod = new URL('../../dist/eval/datasets.js', import.meta.url).href;
    const child = spawn(process.execPath, ['--input-type=module', '-e',
      `const { fetchDataset } = await import(${JSON.stringify(mod)});
       await fetchDataset(${JSON.stringify(srv.url)}, ${JSON.stringify(MD5)}, ${JSON.stringify(dest)});
       process.stdout.write('ok');`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    const exited = new Promise((r) => child.once('exit', r));
    // the child holds the lock (and is downloading) before this process starts
    while (!existsSync(`${dest}.lock`) || !existsSync(`${dest}.incomplete`)) await sleep(10);
    const events = [];
    await fetchDataset(srv.url, MD5, dest, { onProgress: (p) => events.push(p.downloaded) });
    assert.equal(await exited, 0);
    assert.equal(out, 'ok');
    assert.equal(md5Of(dest), MD5);
    assert.equal(srv.requests.length, 1, 'downloaded once');
    assert.equal(srv.sent, BODY.length);
    assert.ok(events.length >= 2 && events.some((b) => b > 0 && b < BODY.length), "the waiter reported the other's progress");
    assert.deepEqual(readdirSync(d).filter((f) => !f.endsWith('.verified')), ['X.tsv']);
  } finally {
    await srv.close();
  }
});

test('two downloads of the same dataset in one process: one transfer, both resolve', async () => {
  const srv = await server(() => ({ slowMs: 5 }));
  try {
    const d = fresh();
    const dest = join(d, 'X.tsv');
    await Promise.all([fetchDataset(srv.url, MD5, dest), fetchDataset(srv.url, MD5, dest)]);
    assert.equal(md5Of(dest), MD5);
    assert.equal(srv.requests.length, 1);
  } finally {
    await srv.close();
  }
});

test('a bad checksum is ERR_CHECKSUM_MISMATCH naming the file and both MD5s, and leaves no file', async () => {
  const srv = await server(() => ({ corrupt: true }));
  try {
    const d = fresh();
    const dest = join(d, 'X.tsv');
    const err = await fetchDataset(srv.url, MD5, dest).catch((e) => e);
    assert.ok(err instanceof DownloadError, String(err));
    assert.equal(err.code, 'ERR_CHECKSUM_MISMATCH');
    const got = createHash('md5').update(Buffer.concat([BODY.subarray(0, -1), Buffer.from('!')])).digest('hex');
    assert.match(err.message, new RegExp(`X\\.tsv from http://127\\.0\\.0\\.1:\\d+/X\\.tsv: expected VLMEvalKit's MD5 ${MD5}, got ${got}; the download was deleted`));
    assert.deepEqual(readdirSync(d), []);
  } finally {
    await srv.close();
  }
});

test('an outdated file in the data folder is replaced in one rename; a corrupt replacement is not put in its place', async () => {
  const srv = await server();
  try {
    const d = fresh();
    const dest = join(d, 'X.tsv');
    writeFileSync(dest, 'index\tquestion\n1\tan older release\n');
    await fetchDataset(srv.url, MD5, dest);
    assert.equal(md5Of(dest), MD5);
    // through locateDataset (MMStar's MD5, which the served file does not have): the download is
    // deleted, the outdated file is left as it was (the next run tries again)
    const dataDir = fresh();
    writeFileSync(join(dataDir, 'MMStar.tsv'), 'an older release');
    const download = (url, md5, to, o) => fetchDataset(srv.url, md5, to, o);
    await assert.rejects(locateDataset('MMStar', { dataDir, download }), { code: 'ERR_CHECKSUM_MISMATCH', message: /MMStar\.tsv from .*: expected VLMEvalKit's MD5 e1ecd2140806c1b1bbf54b43372efb9e/ });
    assert.deepEqual(readdirSync(dataDir), ['MMStar.tsv']);
    assert.equal(readFileSync(join(dataDir, 'MMStar.tsv'), 'utf8'), 'an older release');
  } finally {
    await srv.close();
  }
});

test('HTTP errors are ERR_DOWNLOAD_FAILED naming the URL; offline, a missing dataset is ERR_OFFLINE and nothing is asked', async () => {
  const srv = await server();
  try {
    const d = fresh();
    const missing = srv.url.replace('/X.tsv', '/gone.tsv');
    await assert.rejects(fetchDataset(missing, MD5, join(d, 'X.tsv')), { code: 'ERR_DOWNLOAD_FAILED', message: /HTTP 404 from http:\/\/127\.0\.0\.1:\d+\/gone\.tsv/ });
    const before = srv.requests.length;
    await assert.rejects(fetchDataset(srv.url, MD5, join(d, 'X.tsv'), { offline: true }), { code: 'ERR_OFFLINE', message: /X\.tsv is not in the data folder/ });
    assert.equal(srv.requests.length, before);
    assert.deepEqual(readdirSync(d), []);
    // a verified file is used offline
    await fetchDataset(srv.url, MD5, join(d, 'X.tsv'));
    await fetchDataset(srv.url, MD5, join(d, 'X.tsv'), { offline: true });
  } finally {
    await srv.close();
  }
});
