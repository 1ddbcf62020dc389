// Safe to expose: API keys on every route but /health, body and image limits, and remote image
// URLs (off by default; with 'public', loopback, private, metadata addresses and redirects to them
// are refused and never reached; non-images are refused).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as httpServer } from 'node:http';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { ensureTestImages, loadTiny } from '../helpers.mjs';
import { client, dataUrl, imageMessage, listen, post } from '../server-helpers.mjs';

const PUBLIC = '93.184.215.14';
let vlm, images, png, origin, originPort, hits;

before(async () => {
  images = await ensureTestImages();
  png = readFileSync(images.square);
  vlm = await loadTiny();
  hits = [];
  origin = httpServer((req, res) => {
    hits.push(req.url);
    const u = new URL(req.url, 'http://x');
    if (u.pathname === '/img.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    if (u.pathname === '/page.html') return res.writeHead(200, { 'content-type': 'text/html' }).end('<p>hi</p>');
    if (u.pathname === '/redirect') return res.writeHead(302, { location: u.searchParams.get('to') }).end();
    res.writeHead(404).end();
  });
  await new Promise((r) => origin.listen(0, '127.0.0.1', r));
  originPort = origin.address().port;
});
after(async () => {
  origin?.closeAllConnections();
  await new Promise((r) => origin?.close(r));
  await vlm?.dispose();
});

const local = (path) => `http://127.0.0.1:${originPort}${path}`;
const ask = (url) => ({ messages: imageMessage(url, 'Describe this image.'), max_tokens: 4, temperature: 0 });
/** cdn.test is a public name whose checked address the test points at the local origin. */
const imageFetch = () => ({
  resolve: async (host) => (host === 'cdn.test' ? [{ address: PUBLIC, family: 4 }] : [{ address: '127.0.0.1', family: 4 }]),
  connectTo: (c) => (c.address === PUBLIC ? { address: '127.0.0.1', family: 4, port: originPort } : c),
});

test('API key: 401 without or with a wrong key on every route but /health; Bearer and x-api-key work', async () => {
  const s = await listen(vlm, { apiKey: ['first-key', 'second-key'], metrics: true });
  try {
    for (const [method, path] of [['GET', '/v1/models'], ['GET', '/metrics'], ['POST', '/v1/chat/completions'], ['POST', '/v1/completions'], ['GET', '/v1/models/x']]) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { 'x-api-key': 'first-key-but-longer' }, { authorization: 'Basic Zmlyc3Qta2V5' }]) {
        const res = await fetch(`${s.url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: method === 'POST' ? '{}' : undefined });
        assert.equal(res.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
        const body = await res.json();
        assert.equal(body.error.type, 'authentication_error');
        assert.match(body.error.code, /^(missing|invalid)_api_key$/);
      }
    }
    assert.equal((await fetch(`${s.url}/health`)).status, 200);
    assert.equal((await fetch(`${s.url}/v1/models`, { headers: { 'x-api-key': 'second-key' } })).status, 200);
    const models = await client(s.url, 'first-key').models.list();
    assert.equal(models.data.length, 1);
    await assert.rejects(client(s.url, 'nope').models.list(), (e) => e.status === 401);
    const r = await client(s.url, 'second-key').chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, temperature: 0, model: vlm.info.name });
    assert.equal(r.usage.completion_tokens, 2);
  } finally {
    await s.close();
  }
});

test('413 for a body over the limit, 400 past the images limit or the pixel limit', async () => {
  const s = await listen(vlm, { maxBodyBytes: 64 * 1024, maxImages: 2, maxImagePixels: 100 * 100 });
  try {
    const big = await post(s.url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] });
    assert.equal(big.status, 413);
    assert.equal(big.json.error.code, 'body_too_large');
    const tiny = `data:image/png;base64,${(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#00f' } }).png().toBuffer()).toString('base64')}`;
    const three = [{ role: 'user', content: [1, 2, 3].map(() => ({ type: 'image_url', image_url: { url: tiny } })) }];
    const many = await post(s.url, '/v1/chat/completions', { messages: three, max_tokens: 2 });
    assert.equal(many.status, 400);
    assert.equal(many.json.error.code, 'too_many_images');
    const pixels = await post(s.url, '/v1/chat/completions', ask(dataUrl(images.square))); // 512 x 512 > 100 x 100
    assert.equal(pixels.status, 400, pixels.text);
    assert.equal(pixels.json.error.code, 'ERR_IMAGE_INVALID');
  } finally {
    await s.close();
  }
});

test('remote image URLs are refused by default and never fetched', async () => {
  const s = await listen(vlm);
  try {
    const before = hits.length;
    const r = await post(s.url, '/v1/chat/completions', ask(local('/img.png')));
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'remote_images_disabled');
    assert.equal(hits.length, before);
  } finally {
    await s.close();
  }
});

test("with remote images allowed ('public'): 127.0.0.1, 10.x, 169.254.169.254 and redirects to them are refused; non-images too", async () => {
  const s = await listen(vlm, { remoteImages: 'public', imageFetch: imageFetch() });
  try {
    const refusedUrls = [
      local('/img.png'),
      `http://localhost:${originPort}/img.png`,
      `http://2130706433:${originPort}/img.png`,
      `http://[::ffff:127.0.0.1]:${originPort}/img.png`,
      'http://10.0.0.1/img.png',
      'http://169.254.169.254/latest/meta-data/iam/',
    ];
    for (const url of refusedUrls) {
      const before = hits.length;
      const r = await post(s.url, '/v1/chat/completions', ask(url));
      assert.equal(r.status, 400, url);
      assert.equal(r.json.error.code, 'ERR_IMAGE_INVALID');
      assert.match(r.json.error.message, /refused/);
      assert.equal(hits.length, before, `${url} was not reached`);
    }
    for (const to of [local('/img.png'), 'http://10.0.0.1/img.png', 'http://169.254.169.254/latest/meta-data/']) {
      const before = hits.length;
      const r = await post(s.url, '/v1/chat/completions', ask(`http://cdn.test/redirect?to=${encodeURIComponent(to)}`));
      assert.equal(r.status, 400, to);
      assert.match(r.json.error.message, /refused/);
      assert.equal(hits.length, before + 1, 'only the redirecting hop was made');
    }
    const page = await post(s.url, '/v1/chat/completions', ask('http://cdn.test/page.html'));
    assert.equal(page.status, 400);
    assert.match(page.json.error.message, /not an image/);
    // a public image is fetched, and answers like the same bytes sent inline
    const viaUrl = await post(s.url, '/v1/chat/completions', ask('http://cdn.test/img.png'));
    const inline = await post(s.url, '/v1/chat/completions', ask(dataUrl(images.square)));
    assert.equal(viaUrl.status, 200, viaUrl.text);
    assert.equal(viaUrl.json.choices[0].message.content, inline.json.choices[0].message.content);
    assert.equal(viaUrl.json.usage.prompt_tokens, inline.json.usage.prompt_tokens);
  } finally {
    await s.close();
  }
});

test('CORS: an allowed origin gets its headers, preflight needs no key; other origins none', async () => {
  const s = await listen(vlm, { apiKey: 'k', cors: 'https://app.example' });
  try {
    const pre = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    assert.ok(pre.status === 204 || pre.status === 200, String(pre.status));
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example');
    const get = await fetch(`${s.url}/v1/models`, { headers: { origin: 'https://app.example', authorization: 'Bearer k' } });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('access-control-allow-origin'), 'https://app.example');
    const other = await fetch(`${s.url}/v1/models`, { headers: { origin: 'https://evil.example', authorization: 'Bearer k' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const denied = await fetch(`${s.url}/v1/models`, { headers: { origin: 'https://app.example' } });
    assert.equal(denied.status, 401);
  } finally {
    await s.close();
  }
});
