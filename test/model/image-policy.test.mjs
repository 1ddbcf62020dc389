// The library's image URL and file policy (lib/input/images.ts over lib/net's fetcher): under the
// default `remote: 'public'` no loopback, private or unspecified host is contacted in any of its
// spellings; `remote: 'any'` reaches them; `remote: false` and `allowFiles: false` switch remote
// URLs and files off. Redirects re-checked hop by hop are tested on the fetcher (server-fetch.test.mjs)
// and here through generate(): a public name (an injected `image.fetch` resolver, its checked
// address routed to the local server by `connectTo`) that redirects to loopback is refused.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ImageError } from '../../dist/errors.js';
import { decodeImage } from '../../dist/input/images.js';
import { ensureTestImages, loadTiny, userMessage } from '../helpers.mjs';

let images, server, port, hits = 0, paths = [], ipv6 = true;
before(async () => {
  images = await ensureTestImages();
  const png = readFileSync(images.square);
  server = createServer((req, res) => {
    hits++;
    paths.push(req.url);
    if (req.url === '/to-loopback') return res.writeHead(302, { location: `http://127.0.0.1:${port}/image.png` }).end();
    const to = new URL(req.url, 'http://x').searchParams.get('to');
    if (to) return res.writeHead(302, { location: to.replace('<port>', String(port)) }).end();
    res.writeHead(200, { 'content-type': 'image/png' }).end(png);
  });
  // dual stack where the machine has IPv6, so that [::1] and the IPv4 forms reach one server
  await new Promise((resolve) => {
    server.once('error', () => {
      ipv6 = false;
      server.listen(0, '127.0.0.1', resolve);
    });
    server.listen({ port: 0, host: '::', ipv6Only: false }, resolve);
  });
  port = server.address().port;
});
after(() => {
  server?.closeAllConnections();
  server?.close();
});

const loopbackForms = () => [
  `http://127.0.0.1:${port}/image.png`,
  `http://localhost:${port}/image.png`,
  `http://2130706433:${port}/image.png`, // decimal 127.0.0.1
  `http://0x7f.1:${port}/image.png`, // hex and short form
  `http://127.1:${port}/image.png`,
  `http://[::ffff:127.0.0.1]:${port}/image.png`, // IPv4-mapped IPv6
  ...(ipv6 ? [`http://[::1]:${port}/image.png`] : []),
];

describe("remote: 'public' (the default)", () => {
  test('loopback in every spelling, private, unspecified and link-local hosts are refused without a connection', async () => {
    const before = hits;
    const refused = [
      ...loopbackForms(),
      `http://0.0.0.0:${port}/image.png`,
      `http://[::]:${port}/image.png`,
      'http://10.1.2.3/image.png',
      'http://192.168.0.1/image.png',
      'http://172.16.5.4/image.png',
      'http://100.64.0.1/image.png', // CGNAT
      'http://169.254.169.254/latest/meta-data', // cloud metadata (link-local)
      'http://[fd00::1]/image.png',
      'http://[fe80::1]/image.png',
    ];
    for (const url of refused) {
      const err = await decodeImage(url).catch((e) => e);
      assert.ok(err instanceof ImageError, `${url}: ${err}`);
      assert.equal(err.code, 'ERR_IMAGE_INVALID', url);
      assert.match(err.message, /refused|only public/, url);
      const viaUrl = await decodeImage(new URL(url)).catch((e) => e);
      assert.equal(viaUrl.code, 'ERR_IMAGE_INVALID', `${url} as a URL object`);
    }
    assert.equal(hits, before, 'no request reached the local server');
  });
});

describe("remote: 'any'", () => {
  test('the loopback forms reach the local server', async () => {
    const want = await decodeImage(images.square);
    for (const url of loopbackForms()) {
      const d = await decodeImage(url, { remote: 'any' });
      assert.equal(d.id, want.id, url);
    }
    const redirected = await decodeImage(`http://127.0.0.1:${port}/to-loopback`, { remote: 'any' });
    assert.equal(redirected.id, want.id, 'redirects are followed');
  });
});

describe('switches', () => {
  test('remote: false refuses every http(s) URL', async () => {
    const before = hits;
    for (const url of [`http://127.0.0.1:${port}/image.png`, 'https://example.com/a.png']) {
      const err = await decodeImage(url, { remote: false }).catch((e) => e);
      assert.equal(err.code, 'ERR_IMAGE_INVALID');
      assert.match(err.message, /remote: false/);
    }
    assert.equal(hits, before);
  });

  test('allowFiles: false refuses paths and file: URLs; data: URLs and bytes still work', async () => {
    for (const input of [images.square, pathToFileURL(images.square), pathToFileURL(images.square).href]) {
      const err = await decodeImage(input, { allowFiles: false }).catch((e) => e);
      assert.ok(err instanceof ImageError, String(err));
      assert.equal(err.code, 'ERR_IMAGE_INVALID');
      assert.match(err.message, /allowFiles: false/);
    }
    const png = readFileSync(images.square);
    const want = await decodeImage(images.square);
    assert.equal((await decodeImage(png, { allowFiles: false })).id, want.id);
    assert.equal((await decodeImage(`data:image/png;base64,${png.toString('base64')}`, { allowFiles: false })).id, want.id);
  });

  test('file: URLs name local files only', async () => {
    const err = await decodeImage('file://host/etc/passwd').catch((e) => e);
    assert.equal(err.code, 'ERR_IMAGE_INVALID');
    assert.match(err.message, /local file only/);
    const ok = await decodeImage(`file://localhost${images.square}`);
    assert.equal(ok.id, (await decodeImage(images.square)).id);
  });
});

describe("generate() with remote: 'public': a public URL that redirects to loopback", () => {
  const PUBLIC = '93.184.215.14'; // a public address that is never really connected to
  let vlm;
  before(async () => {
    vlm = await loadTiny();
  });
  after(() => vlm?.dispose());
  /** cdn.test is public (and served by the local server); evil.test resolves to loopback. */
  const fetch = {
    resolve: async (host) => [{ address: host === 'cdn.test' ? PUBLIC : '127.0.0.1', family: 4 }],
    connectTo: (c) => (c.address === PUBLIC ? { address: '127.0.0.1', family: 4, port: c.port === 80 ? port : c.port } : c),
  };
  const ask = (url, image = { fetch }) => ({ messages: userMessage(url, 'What is this?'), maxTokens: 3, temperature: 0, image });

  test('refused with a typed error at the redirect, the loopback target never reached; the model stays usable', async () => {
    const targets = [
      'http://127.0.0.1:<port>/image.png',
      'http://localhost:<port>/image.png',
      'http://2130706433:<port>/image.png',
      'http://[::ffff:127.0.0.1]:<port>/image.png',
      ...(ipv6 ? ['http://[::1]:<port>/image.png'] : []),
      'http://evil.test:<port>/image.png', // a name that resolves to loopback
      'http://169.254.169.254/latest/meta-data',
    ];
    for (const to of targets) {
      const first = `/redirect?to=${encodeURIComponent(to)}`;
      paths = [];
      const err = await vlm.generate(ask(`http://cdn.test${first}`)).catch((e) => e);
      assert.ok(err instanceof ImageError, `${to}: ${err}`);
      assert.equal(err.code, 'ERR_IMAGE_INVALID', to);
      assert.match(err.message, /^refused: .*(loopback|link-local|metadata)/, to);
      assert.deepEqual(paths, [first], `${to}: only the public first hop was made`);
    }
    // the same model answers next: through the public name, and without any URL
    paths = [];
    const ok = await vlm.generate(ask('http://cdn.test/image.png'));
    assert.equal(ok.usage.completionTokens, 3);
    assert.deepEqual(paths, ['/image.png']);
    const redirected = await vlm.generate(ask(`http://cdn.test/redirect?to=${encodeURIComponent('http://cdn.test/image.png')}`));
    assert.equal(redirected.text, ok.text, 'a redirect to a public name is followed');
    assert.equal((await vlm.generate({ prompt: 'Hello', maxTokens: 2 })).usage.completionTokens, 2);
  });

  test('image.fetch: maxRedirects bounds the hops; bad values are ERR_INVALID_ARGUMENT before anything is fetched', async () => {
    const hop = `http://cdn.test/redirect?to=${encodeURIComponent('http://cdn.test/image.png')}`;
    const err = await vlm.generate(ask(hop, { fetch: { ...fetch, maxRedirects: 0 } })).catch((e) => e);
    assert.equal(err.code, 'ERR_IMAGE_INVALID');
    assert.match(err.message, /more than 0 redirects/);
    paths = [];
    for (const [image, message] of [
      [{ fetch: null }, /image\.fetch must be an object/],
      [{ fetch: { resolve: 'dns' } }, /image\.fetch\.resolve must be a function/],
      [{ fetch: { connectTo: {} } }, /image\.fetch\.connectTo must be a function/],
      [{ fetch: { maxRedirects: 21 } }, /image\.fetch\.maxRedirects/],
      [{ fetch: { maxRedirect: 1 } }, /did you mean 'maxRedirects'/],
    ]) {
      const bad = await vlm.generate(ask('http://cdn.test/image.png', image)).catch((e) => e);
      assert.equal(bad.code, 'ERR_INVALID_ARGUMENT', `${JSON.stringify(image)}: ${bad}`);
      assert.match(bad.message, message);
    }
    assert.deepEqual(paths, []);
  });
});
