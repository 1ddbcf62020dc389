// Local HTTP servers for the url class. Every TCP connection counts as a hit: a connection to a
// loopback address is already the SSRF, whatever the request turns out to be.

import { createServer } from 'node:http';
import { createGzip } from 'node:zlib';

/**
 * Starts one server on 127.0.0.1 and, on the same port where it can, one on ::1 (so a URL that
 * names localhost or a v6 loopback form reaches it whichever address is tried). `respond(req,
 * res, server)` answers; `server.url(path, host)` builds URLs.
 */
export async function loopbackServer(respond, { host = '127.0.0.1', v6 = true } = {}) {
  const state = { hits: 0, requests: [], sockets: new Set(), servers: [], port: 0, v6: false };
  const make = () => {
    const s = createServer((req, res) => {
      state.requests.push(`${req.method} ${req.url}`);
      Promise.resolve(respond(req, res, state)).catch(() => res.destroy());
    });
    s.on('connection', (sock) => {
      state.hits++;
      state.sockets.add(sock);
      sock.on('close', () => state.sockets.delete(sock));
    });
    s.on('clientError', (_, sock) => sock.destroy());
    state.servers.push(s);
    return s;
  };
  await new Promise((resolve, reject) => make().once('error', reject).listen(0, host, resolve));
  state.port = state.servers[0].address().port;
  if (v6 && host === '127.0.0.1') {
    state.v6 = await new Promise((resolve) => make().once('error', () => resolve(false)).listen(state.port, '::1', () => resolve(true)));
    if (!state.v6) state.servers.pop();
  }
  state.url = (path = '/img.png', h = host) => `http://${h}:${state.port}${path}`;
  state.close = async () => {
    for (const sock of state.sockets) sock.destroy();
    await Promise.all(state.servers.map((s) => new Promise((r) => s.close(() => r()))));
  };
  return state;
}

/** Writes `chunk` forever (until the client goes away). */
export function endless(res, chunk, { delayMs = 0 } = {}) {
  const again = () => {
    if (res.destroyed) return;
    if (delayMs) {
      res.write(chunk);
      setTimeout(again, delayMs).unref();
    } else if (res.write(chunk)) setImmediate(again);
    else res.once('drain', again);
  };
  again();
}

/** A gzip stream of `mb` MiB of zeros, compressed as it is sent. */
export function gzipZeros(res, mb) {
  const gz = createGzip({ level: 1 });
  gz.pipe(res);
  const zeros = Buffer.alloc(1 << 20);
  let left = mb;
  const pump = () => {
    while (left > 0 && !res.destroyed) {
      left--;
      if (!gz.write(zeros)) return gz.once('drain', pump);
    }
    gz.end();
  };
  res.on('close', () => gz.destroy());
  pump();
}
