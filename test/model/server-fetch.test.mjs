// The SSRF-safe fetcher (lib/net) against local HTTP servers on 127.0.0.1. Those are reachable
// only with policy 'any'; under 'public' they are refused. Hops that 'public' must allow use an
// injected resolver (a name -> a public address) and connectTo (that address -> the local server),
// so refusals are proven without a public host.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { fetchImage, UrlRefusedError } from '../../dist/net/index.js';

let png, server, port, hits;
const PUBLIC = '93.184.215.14'; // a public address the tests never really connect to

before(async () => {
  png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#ff0000' } }).png().toBuffer();
  hits = [];
  server = createServer((req, res) => {
    hits.push(req.url);
    const u = new URL(req.url, 'http://x');
    const to = u.searchParams.get('to');
    switch (u.pathname) {
      case '/img.png': return res.writeHead(200, { 'content-type': 'image/png' }).end(png);
      case '/octet': return res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(png);
      case '/octet-text': return res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('hello, not an image');
      case '/page.html': return res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
      case '/svg': return res.writeHead(200, { 'content-type': 'image/svg+xml' }).end('<svg xmlns="http://www.w3.org/2000/svg"/>');
      case '/empty': return res.writeHead(200, { 'content-type': 'image/png' }).end();
      case '/missing': return res.writeHead(404).end();
      case '/big': {
        res.writeHead(200, { 'content-type': 'image/png' });
        const chunk = Buffer.alloc(64 * 1024);
        let sent = 0;
        const pump = () => {
          while (sent < 4 << 20) {
            sent += chunk.length;
            if (!res.write(chunk)) return res.once('drain', pump);
          }
          res.end();
        };
        return pump();
      }
      case '/declared-big': return res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(10 << 20) }).end();
      case '/slow': return res.writeHead(200, { 'content-type': 'image/png' }).write(png.subarray(0, 4)); // never ends
      case '/redirect': return res.writeHead(302, { location: to }).end();
      case '/loop': return res.writeHead(302, { location: '/loop' }).end();
      default: return res.writeHead(500).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  port = server.address().port;
});
after(() => new Promise((r) => { server.closeAllConnections(); server.close(r); }));

const local = (path) => `http://127.0.0.1:${port}${path}`;
/** 'public' options where cdn.test is public and actually served by the local server. */
function viaCdn(extra = {}) {
  const calls = [];
  return {
    calls,
    options: {
      policy: 'public',
      resolve: async (host) => {
        calls.push(host);
        if (host === 'cdn.test') return [{ address: PUBLIC, family: 4 }];
        if (host === 'evil.test') return [{ address: '127.0.0.1', family: 4 }];
        if (host === 'mixed.test') return [{ address: PUBLIC, family: 4 }, { address: '10.0.0.5', family: 4 }];
        if (host === 'v6.test') return [{ address: '::ffff:169.254.169.254', family: 6 }];
        throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      },
      connectTo: (c) => (c.address === PUBLIC ? { address: '127.0.0.1', family: 4, port } : c),
      ...extra,
    },
  };
}

async function refused(promise, reason) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof UrlRefusedError, `expected a refusal, got ${err?.name}: ${err?.message}`);
    assert.equal(err.code, 'ERR_IMAGE_INVALID');
    if (reason) assert.equal(err.reason, reason, err.message);
    return true;
  });
}

test("'any' fetches a local image; a non-image, SVG, empty, 404 are refused", async () => {
  const r = await fetchImage(local('/img.png'), { policy: 'any' });
  assert.deepEqual(r.data, png);
  assert.equal(r.contentType, 'image/png');
  const sniffed = await fetchImage(local('/octet'), { policy: 'any' });
  assert.deepEqual(sniffed.data, png);
  for (const path of ['/page.html', '/svg', '/octet-text', '/empty', '/missing']) {
    await assert.rejects(fetchImage(local(path), { policy: 'any' }), { code: 'ERR_IMAGE_INVALID' }, path);
  }
});

test('size cap, timeout, redirect cap, schemes', async () => {
  await assert.rejects(fetchImage(local('/big'), { policy: 'any', maxBytes: 1 << 20 }), /too large/);
  await assert.rejects(fetchImage(local('/declared-big'), { policy: 'any', maxBytes: 1 << 20 }), /too large/);
  await assert.rejects(fetchImage(local('/slow'), { policy: 'any', timeoutMs: 300 }), /timed out/);
  await refused(fetchImage(local('/loop'), { policy: 'any', maxRedirects: 3 }), 'redirects');
  await refused(fetchImage(local(`/redirect?to=${encodeURIComponent('file:///etc/passwd')}`), { policy: 'any' }), 'scheme');
  await refused(fetchImage('ftp://127.0.0.1/x.png', { policy: 'any' }), 'scheme');
  await refused(fetchImage(local('/img.png'), { policy: false }), 'disabled');
  const ac = new AbortController();
  const p = fetchImage(local('/slow'), { policy: 'any', signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(p, { code: 'ERR_ABORTED' });
});

test("'public' refuses loopback in every spelling, private, link-local and metadata addresses", async () => {
  const before = hits.length;
  const cases = [
    [local('/img.png'), 'loopback'],
    [`http://localhost:${port}/img.png`, 'loopback'], // resolved by the system resolver
    [`http://2130706433:${port}/img.png`, 'loopback'],
    [`http://0x7f.1:${port}/img.png`, 'loopback'],
    [`http://0177.0.0.1:${port}/img.png`, 'loopback'],
    [`http://[::1]:${port}/img.png`, 'loopback'],
    [`http://[::ffff:127.0.0.1]:${port}/img.png`, 'loopback'],
    [`http://0.0.0.0:${port}/img.png`, 'unspecified'],
    ['http://10.0.0.1/img.png', 'private'],
    ['http://192.168.1.10/img.png', 'private'],
    ['http://172.20.0.1/img.png', 'private'],
    ['http://100.64.0.1/img.png', 'cgnat'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://169.254.10.10/', 'link-local'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://[fd00::1]/', 'unique-local'],
    ['http://224.0.0.1/', 'multicast'],
  ];
  for (const [url, reason] of cases) await refused(fetchImage(url, { policy: 'public', timeoutMs: 2000 }), reason);
  assert.equal(hits.length, before, 'no refused request reached the server');
});

test("'public' checks resolved names: a name resolving to loopback, a mixed answer, IPv4-mapped metadata", async () => {
  const { options } = viaCdn();
  const before = hits.length;
  await refused(fetchImage('http://evil.test/img.png', options), 'loopback');
  await refused(fetchImage('http://mixed.test/img.png', options), 'private');
  await refused(fetchImage('http://v6.test/img.png', options), 'metadata');
  await assert.rejects(fetchImage('http://nowhere.test/img.png', options), /cannot resolve/);
  assert.equal(hits.length, before);
});

test("'public' fetches a public host, and refuses its redirects to loopback, 10.x, metadata and rebinding names", async () => {
  const { options, calls } = viaCdn();
  const ok = await fetchImage('http://cdn.test/img.png', options);
  assert.deepEqual(ok.data, png);
  assert.deepEqual(calls, ['cdn.test'], 'resolved once: the socket connects to the checked address');
  const targets = [
    [local('/img.png'), 'loopback'],
    ['http://10.1.2.3/img.png', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://[::ffff:7f00:1]/img.png', 'loopback'],
    [`http://2130706433:${port}/img.png`, 'loopback'],
    ['http://evil.test/img.png', 'loopback'],
  ];
  for (const [to, reason] of targets) {
    const before = hits.length;
    await refused(fetchImage(`http://cdn.test/redirect?to=${encodeURIComponent(to)}`, options), reason);
    assert.deepEqual(hits.slice(before), [`/redirect?to=${encodeURIComponent(to)}`], 'only the first hop was made');
  }
  // a redirect to another public name is followed, and checked again
  const hop = await fetchImage(`http://cdn.test/redirect?to=${encodeURIComponent('http://cdn.test/img.png')}`, options);
  assert.deepEqual(hop.data, png);
  await assert.rejects(fetchImage('http://cdn.test/page.html', options), /not an image/);
});

test('DNS rebinding: the connection goes to the address that was checked', async () => {
  let n = 0;
  const connected = [];
  const options = {
    policy: 'public',
    // first answer public, every later one loopback: a resolver that rebinds
    resolve: async () => [{ address: n++ === 0 ? PUBLIC : '127.0.0.1', family: 4 }],
    connectTo: (c) => {
      connected.push(c.address);
      return c.address === PUBLIC ? { address: '127.0.0.1', family: 4, port } : { ...c, address: '192.0.2.1' };
    },
  };
  const r = await fetchImage('http://rebind.test/img.png', options);
  assert.deepEqual(r.data, png);
  assert.equal(n, 1, 'the name was resolved once');
  assert.deepEqual(connected, [PUBLIC]);
});
