// url: hostile image URLs against HTTP servers the case starts on 127.0.0.1 (and ::1 on the same
// port), and file: URLs. Four policies:
// - refuse: the URL names a loopback address in some spelling (or redirects to one); the default
//   settings must refuse it before connecting. A connection the server saw is the SSRF finding:
//   outcome 'reached'.
// - public: the first hop is a public name (image.fetch resolves cdn.test to a public address and
//   routes it to a local stand-in, which does not count); its redirect to loopback must be refused.
// - allow: loopback is allowed explicitly (ALLOW_LOOPBACK); the case is about what comes back
//   (non-image content, endless, slow, lying or compressed bodies, bad download options).
// - file: file: URLs and paths (no server).
// The first URLS.length indexes of a seed visit the list once; later ones pick a random
// loopback spelling, redirect status and path.

import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { CALLER_CODES } from '../kit.mjs';
import { listSlot } from '../prng.mjs';
import { encoded } from './image-bytes.mjs';
import { endless, gzipZeros, loopbackServer } from './local-server.mjs';

/** Image options that allow fetching from loopback (the library's default `remote: 'public'` refuses it). */
export const ALLOW_LOOPBACK = { remote: 'any' };

/** A public address the cases never really connect to: `image.fetch.connectTo` routes it to a local server. */
const PUBLIC = '93.184.215.14';
/**
 * `image.fetch` options under which `cdn.test` is a public name served by `server`, and every
 * other name resolves to loopback: a public first hop, so that what a redirect does is checked.
 */
const viaPublicName = (server) => ({
  resolve: async (host) => [{ address: host === 'cdn.test' ? PUBLIC : '127.0.0.1', family: 4 }],
  connectTo: (c) => (c.address === PUBLIC ? { address: '127.0.0.1', family: 4, port: server.port } : c),
});

const R = 'reject';
const OK = 'resolve';
const A = 'any';

/** Loopback spellings (host part of a URL): each reaches a server on 127.0.0.1 or ::1. */
export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', 'LOCALHOST', '127.1', '0.0.0.0', '0', '2130706433', '0x7f000001', '0x7f.1',
  '0177.0.0.1', '127.000.000.001', '[::1]', '[0:0:0:0:0:0:0:1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::]'];
const V6 = (h) => h.startsWith('[') && !h.includes('ffff');
const REDIRECTS = [301, 302, 303, 307, 308];

const servePng = (png, type = 'image/png') => (req, res) => {
  res.writeHead(200, type ? { 'content-type': type, 'content-length': png.length } : { 'content-length': png.length });
  res.end(png);
};
const redirectTo = (location, status = 302) => (req, res) => {
  res.writeHead(status, { location: typeof location === 'function' ? location(req) : location });
  res.end();
};

/**
 * [name, policy, expect, setup({ k, rng, png, serve }) => { image, request?, raw?, second?,
 * skipped? }, { codes }?]. `serve(respond, opts)` starts a loopback server (closed at cleanup)
 * and returns it; `png` is a small picture. `raw`: through prompt + images; `second`: as the
 * second of two images.
 */
export const URLS = [
  // --- refuse: loopback in every spelling, by default settings ---
  ...LOOPBACK_HOSTS.map((h) => [`GET http://${h}:<port>/`, 'refuse', R, async ({ serve, png }) => {
    const s = await serve(servePng(png));
    if (V6(h) && !s.v6) return { skipped: 'no IPv6 loopback here' };
    return { image: s.url('/img.png', h) };
  }]),
  ['GET http://127.0.0.2:<port>/ (another loopback address)', 'refuse', R, async ({ serve, png }) => ({ image: (await serve(servePng(png), { host: '127.0.0.2' })).url() })],
  ['GET http://user:pass@127.0.0.1:<port>/ (credentials in the URL)', 'refuse', R, async ({ serve, png }) => ({ image: (await serve(servePng(png))).url('/img.png', 'user:pass@127.0.0.1') })],
  ['GET https://127.0.0.1:<port>/ (TLS to a plain server)', 'refuse', R, async ({ serve, png }) => ({ image: (await serve(servePng(png))).url().replace('http:', 'https:') })],
  ['GET http://127.0.0.1:<port>/ as a URL object', 'refuse', R, async ({ serve, png }) => ({ image: new URL((await serve(servePng(png))).url()) })],
  ['GET http://127.0.0.1:<port>/ through prompt + images', 'refuse', R, async ({ serve, png }) => ({ raw: true, image: (await serve(servePng(png))).url() })],
  ['GET http://127.0.0.1:<port>/ as the second of two images', 'refuse', R, async ({ serve, png }) => ({ second: true, image: (await serve(servePng(png))).url() })],
  // --- refuse: redirects to loopback (the first hop is local too: nothing public is reachable here) ---
  ...REDIRECTS.map((status) => [`redirect ${status} to http://localhost:<port>/`, 'refuse', R, async ({ serve, png }) => {
    const target = await serve(servePng(png));
    return { image: (await serve(redirectTo(target.url('/img.png', 'localhost'), status))).url('/r') };
  }]),
  ['redirect to http://[::1]:<port>/', 'refuse', R, async ({ serve, png }) => {
    const target = await serve(servePng(png));
    if (!target.v6) return { skipped: 'no IPv6 loopback here' };
    return { image: (await serve(redirectTo(target.url('/img.png', '[::1]')))).url('/r') };
  }],
  ['redirect to http://2130706433:<port>/', 'refuse', R, async ({ serve, png }) => {
    const target = await serve(servePng(png));
    return { image: (await serve(redirectTo(target.url('/img.png', '2130706433')))).url('/r') };
  }],
  ['redirect chain of 3 hops to loopback', 'refuse', R, async ({ serve, png }) => {
    const s = await serve((req, res) => {
      const hop = Number(new URL(req.url, 'http://x').searchParams.get('hop') ?? 0);
      if (hop < 3) redirectTo(`/r?hop=${hop + 1}`)(req, res);
      else servePng(png)(req, res);
    });
    return { image: s.url('/r') };
  }],
  ['redirect loop', 'refuse', R, async ({ serve }) => ({ image: (await serve(redirectTo((req) => req.url))).url('/loop') })],
  ['redirect to file:///etc/passwd', 'refuse', R, async ({ serve }) => ({ image: (await serve(redirectTo('file:///etc/passwd'))).url('/r') })],
  ['redirect to a data: URL', 'refuse', R, async ({ serve, png }) => ({ image: (await serve(redirectTo(`data:image/png;base64,${png.toString('base64')}`))).url('/r') })],
  ['remote: false, http://127.0.0.1:<port>/', 'refuse', R, async ({ serve, png }) => ({ image: (await serve(servePng(png))).url(), request: { image: { remote: false } } })],
  ['remote: false, redirect to loopback', 'refuse', R, async ({ serve, png }) => {
    const target = await serve(servePng(png));
    return { image: (await serve(redirectTo(target.url()))).url('/r'), request: { image: { remote: false } } };
  }],
  // --- refuse: a public first hop (image.fetch routes a public name to a local server) redirecting to loopback ---
  ...['127.0.0.1', 'localhost', '2130706433', '[::ffff:127.0.0.1]', '[::1]', 'evil.test'].map((h) => [`public name redirecting to http://${h}:<port>/`, 'public', R, async ({ serve, png }) => {
    const target = await serve(servePng(png));
    if (V6(h) && !target.v6) return { skipped: 'no IPv6 loopback here' };
    const origin = await serve(redirectTo(target.url('/img.png', h)), { counts: false });
    return { image: 'http://cdn.test/r', request: { image: { fetch: viaPublicName(origin) } } };
  }]),
  ['public name: the PNG it serves (control)', 'public', OK, async ({ serve, png }) => {
    const origin = await serve(servePng(png), { counts: false });
    return { image: 'http://cdn.test/img.png', request: { image: { fetch: viaPublicName(origin) } } };
  }],
  // --- allow: what comes back ---
  ['allowed: a PNG', 'allow', OK, async ({ serve, png }) => ({ image: (await serve(servePng(png))).url() })],
  ['allowed: a PNG without content-type', 'allow', A, async ({ serve, png }) => ({ image: (await serve(servePng(png, null))).url() })],
  ['allowed: a PNG labelled text/html', 'allow', R, async ({ serve, png }) => ({ image: (await serve(servePng(png, 'text/html'))).url() })],
  ['allowed: an HTML page', 'allow', R, async ({ serve }) => ({ image: (await serve(servePng(Buffer.from('<html>hi</html>'), 'text/html'))).url() })],
  ['allowed: JSON', 'allow', R, async ({ serve }) => ({ image: (await serve(servePng(Buffer.from('{"a":1}'), 'application/json'))).url() })],
  ['allowed: random bytes as octet-stream', 'allow', R, async ({ serve, rng }) => ({ image: (await serve(servePng(rng.bytes(4096), 'application/octet-stream'))).url() })],
  ['allowed: an empty 200', 'allow', R, async ({ serve }) => ({ image: (await serve(servePng(Buffer.alloc(0)))).url() })],
  ...[204, 404, 500, 503].map((status) => [`allowed: HTTP ${status}`, 'allow', R, async ({ serve }) => ({ image: (await serve((req, res) => { res.writeHead(status); res.end(); })).url() })]),
  ['allowed: redirect to a 404', 'allow', R, async ({ serve }) => {
    const target = await serve((req, res) => { res.writeHead(404); res.end(); });
    return { image: (await serve(redirectTo(target.url()))).url('/r') };
  }],
  ['allowed: an endless body, maxDownloadBytes 1e6', 'allow', R, async ({ serve }) => ({
    image: (await serve((req, res) => { res.writeHead(200, { 'content-type': 'image/png' }); endless(res, Buffer.alloc(65536, 1)); })).url(),
    request: { image: { maxDownloadBytes: 1e6 } },
  })],
  ['allowed: an endless body, default limit', 'allow', R, async ({ serve }) => ({
    image: (await serve((req, res) => { res.writeHead(200, { 'content-type': 'image/png' }); endless(res, Buffer.alloc(65536, 1)); })).url(),
  })],
  ['allowed: content-length 1e12', 'allow', R, async ({ serve }) => ({
    image: (await serve((req, res) => { res.writeHead(200, { 'content-type': 'image/png', 'content-length': '1000000000000' }); res.write('x'); })).url(),
  })],
  ['allowed: content-length longer than the body, then close', 'allow', R, async ({ serve, png }) => ({
    image: (await serve((req, res) => { res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length + 100 }); res.write(png); res.socket.end(); })).url(),
  })],
  ['allowed: content-length shorter than the body', 'allow', A, async ({ serve, png }) => ({
    image: (await serve((req, res) => { res.socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: ${png.length - 10}\r\n\r\n`), png])); })).url(),
  })],
  ['allowed: a slow body, timeoutMs 1500', 'allow', R, async ({ serve }) => ({
    image: (await serve((req, res) => { res.writeHead(200, { 'content-type': 'image/png' }); endless(res, Buffer.from('x'), { delayMs: 200 }); })).url(),
    request: { image: { timeoutMs: 1500 } },
  })],
  ['allowed: no response at all, timeoutMs 1500', 'allow', R, async ({ serve }) => ({ image: (await serve(() => {})).url(), request: { image: { timeoutMs: 1500 } } })],
  ['allowed: the server closes at once', 'allow', R, async ({ serve }) => ({ image: (await serve((req, res) => res.socket.destroy())).url() })],
  ['allowed: reset in the middle of the body', 'allow', R, async ({ serve, png }) => ({
    image: (await serve((req, res) => { res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length }); res.write(png.subarray(0, 40)); setTimeout(() => res.socket.resetAndDestroy(), 50); })).url(),
  })],
  ['allowed: a non-HTTP reply', 'allow', R, async ({ serve }) => ({ image: (await serve((req, res) => res.socket.end('SSH-2.0-OpenSSH_9.6\r\n'))).url() })],
  ['allowed: a 200 MiB gzip bomb', 'allow', R, async ({ serve }) => ({
    image: (await serve((req, res) => { res.writeHead(200, { 'content-type': 'image/png', 'content-encoding': 'gzip' }); gzipZeros(res, 200); })).url(),
  })],
  ['allowed: a bad chunk size', 'allow', R, async ({ serve }) => ({
    image: (await serve((req, res) => res.socket.end('HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nxx\r\n'))).url(),
  })],
  ['allowed: a 100 KB response header', 'allow', R, async ({ serve, png }) => ({
    image: (await serve((req, res) => { res.writeHead(200, { 'content-type': 'image/png', 'x-big': 'a'.repeat(100_000) }); res.end(png); })).url(),
  })],
  ...[-1, NaN, 0, '1000000'].map((v) => [`allowed: maxDownloadBytes ${typeof v === 'string' ? `'${v}'` : v}`, 'allow', R, async ({ serve, png }) => ({
    image: (await serve(servePng(png))).url(), request: { image: { maxDownloadBytes: v } },
  })]),
  ...[-1, NaN, 0, Infinity, '1000'].map((v) => [`allowed: timeoutMs ${typeof v === 'string' ? `'${v}'` : v}`, 'allow', R, async ({ serve, png }) => ({
    image: (await serve(servePng(png))).url(), request: { image: { timeoutMs: v } },
  })]),
  ['allowed: aborted in the middle of a slow download', 'allow', R, async ({ serve }) => {
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 500).unref();
    return {
      image: (await serve((req, res) => { res.writeHead(200, { 'content-type': 'image/png' }); endless(res, Buffer.from('x'), { delayMs: 100 }); })).url(),
      request: { signal: ctl.signal },
    };
  }, { codes: ['ERR_ABORTED'] }],
  // --- file: URLs and paths ---
  ['file:///etc/passwd', 'file', R, async () => ({ image: 'file:///etc/passwd' })],
  ['file:///dev/zero', 'file', R, async () => ({ image: 'file:///dev/zero' })],
  ['file:///proc/self/environ', 'file', R, async () => ({ image: 'file:///proc/self/environ' })],
  ['file://host/etc/passwd (a remote host)', 'file', R, async () => ({ image: 'file://host/etc/passwd' })],
  ['file:a.png (no slashes)', 'file', R, async () => ({ image: 'file:a.png' })],
  ['file: URL with an encoded slash', 'file', R, async ({ k, png }) => {
    writeFileSync(k.path('a.png'), png);
    return { image: `${pathToFileURL(k.path('a'))}%2F..%2Fa.png` };
  }],
  ['file: URL of a missing file', 'file', R, async ({ k }) => ({ image: pathToFileURL(k.path('missing.png')).href })],
  ['file: URL of a PNG (files are on by default)', 'file', OK, async ({ k, png }) => {
    writeFileSync(k.path('a.png'), png);
    return { image: pathToFileURL(k.path('a.png')).href };
  }],
  ['file: URL of a PNG with allowFiles: false', 'file', R, async ({ k, png }) => {
    writeFileSync(k.path('a.png'), png);
    return { image: pathToFileURL(k.path('a.png')).href, request: { image: { allowFiles: false } } };
  }],
  ['a path to a PNG with allowFiles: false', 'file', R, async ({ k, png }) => {
    writeFileSync(k.path('a.png'), png);
    return { image: k.path('a.png'), request: { image: { allowFiles: false } } };
  }],
];

/** A random loopback URL: spelling, optional redirect, path. */
function randomCase(rng) {
  const host = rng.pick(LOOPBACK_HOSTS);
  const status = rng.chance(0.5) ? rng.pick(REDIRECTS) : 0;
  const path = rng.pick(['/', '/img.png', '/a/../img.png', '/%2e%2e/img.png', `/${'x'.repeat(rng.int(3000))}`, '/?q=1#frag']);
  const name = status ? `redirect ${status} to http://${host}:<port>${path.slice(0, 40)}` : `GET http://${host}:<port>${path.slice(0, 40)}`;
  return [name, 'refuse', R, async ({ serve, png }) => {
    const s = await serve(servePng(png));
    if (V6(host) && !s.v6) return { skipped: 'no IPv6 loopback here' };
    const target = s.url(path, host);
    return { image: status ? (await serve(redirectTo(target, status))).url('/r') : target };
  }];
}

export async function generate({ rng, seed, index, k }) {
  const slot = listSlot(seed, 'url', index, URLS.length);
  const [name, policy, expect, setup, opts = {}] = slot >= 0 ? URLS[slot] : randomCase(rng);
  const servers = [];
  return {
    name: `${policy}: ${name}`,
    kind: slot >= 0 ? `${policy}: ${name}` : `${policy}: random loopback URL`,
    expect,
    codes: opts.codes ?? CALLER_CODES,
    async run() {
      k.onCleanup(() => Promise.all(servers.map((s) => s.close())));
      const png = await encoded(rng, 'png');
      const serve = async (respond, opts) => {
        const s = await loopbackServer(respond, opts);
        s.counts = opts?.counts !== false; // the stand-in for a public host is no SSRF target
        servers.push(s);
        return s;
      };
      k.phase('setup');
      const c = await setup({ k, rng, png, serve });
      if (c.skipped) return k.note({ skipped: c.skipped });
      const image = { ...(policy === 'allow' ? ALLOW_LOOPBACK : {}), ...c.request?.image };
      const request = { ...c.request, image };
      try {
        await k.withModel({}, async (vlm) => {
          k.phase('generate');
          if (c.raw) return vlm.generate({ prompt: `${vlm.info.mediaMarker} What is this?`, images: [c.image], maxTokens: 2, ...request });
          const content = c.second
            ? [{ type: 'image', image: png }, { type: 'image', image: c.image }, { type: 'text', text: 'Compare.' }]
            : [{ type: 'image', image: c.image }, { type: 'text', text: 'What is this?' }];
          return vlm.generate({ messages: [{ role: 'user', content }], maxTokens: 2, ...request });
        });
      } finally {
        const hits = servers.filter((s) => s.counts).reduce((n, s) => n + s.hits, 0);
        k.note({ connections: hits, requests: servers.flatMap((s) => s.requests).slice(0, 5) });
        if ((policy === 'refuse' || policy === 'public') && hits > 0) k.note({ reached: 'a loopback server the URL names saw a connection' });
      }
    },
  };
}
