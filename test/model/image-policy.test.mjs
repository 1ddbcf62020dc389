// The library's image URL and file policy (lib/input/images.ts over lib/net's fetcher): under the
// default `remote: 'public'` no loopback, private or unspecified host is contacted in any of its
// spellings; `remote: 'any'` reaches them; `remote: false` and `allowFiles: false` switch remote
// URLs and files off. Redirects re-checked hop by hop are tested on the fetcher (server-fetch.test.mjs).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ImageError } from '../../dist/errors.js';
import { decodeImage } from '../../dist/input/images.js';
import { ensureTestImages } from '../helpers.mjs';

let images, server, port, hits = 0, ipv6 = true;
before(async () => {
  images = await ensureTestImages();
  const png = readFileSync(images.square);
  server = createServer((req, res) => {
    hits++;
    if (req.url === '/to-loopback') return res.writeHead(302, { location: `http://127.0.0.1:${port}/image.png` }).end();
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
