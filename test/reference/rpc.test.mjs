// Remote devices through llama.cpp's RPC backend, on loopback: an rpc-server (llama.cpp's own, from
// the same build) started here holds the layers; greedy output equals the local run token for
// token; memory() shows the remote device; a killed server fails requests with a typed error and
// no crash (the process, other models, and a reload once the server is back all work); bad
// endpoints are InvalidArgumentError before any work; unreachable or silent ones fail the load
// within the connect timeout.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { DEFAULTS } from '../../dist/options.js';
import { estimateMemory, InvalidArgumentError, loadModel, RemoteDeviceError } from '../../dist/index.js';
import { ensureFixture, ensureTestImages, loadTiny, referenceRpcServer, root, THREADS, userMessage } from '../helpers.mjs';

const QUESTION = 'Describe this image.';
const MAX_TOKENS = 24;

/** A port nothing listens on now (the OS's pick, released). */
async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port) {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port }, () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}

/** Starts rpc-server on 127.0.0.1 (a free port, or `port`); resolves once it accepts connections. */
async function startRpcServer(port) {
  port ??= await freePort();
  const child = spawn(referenceRpcServer(), ['-H', '127.0.0.1', '-p', String(port), '-t', String(THREADS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.once('exit', r));
  const server = {
    endpoint: `127.0.0.1:${port}`,
    port,
    output: () => out,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  servers.push(server); // killed after the tests whatever happens
  // (its stdout is a pipe, so block-buffered: wait for the port, not for its banner)
  const end = Date.now() + 30_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`rpc-server did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return server;
}

let files, images, local, want, servers = [];
before(async () => {
  files = await ensureFixture({ size: 'tiny' });
  images = await ensureTestImages();
  local = await loadTiny({ gpu: false });
  want = {
    image: (await local.generate({ messages: userMessage(images.square, QUESTION), maxTokens: MAX_TOKENS })).text,
    text: (await local.generate({ prompt: 'The capital of France is', maxTokens: MAX_TOKENS })).text,
  };
});
after(async () => {
  await local?.dispose();
  for (const s of servers) await s.kill();
});

const loadRemote = (endpoint, extra = {}) => loadModel({ ...files, threads: THREADS, contextSize: 4096, gpu: false, rpc: [endpoint], ...extra });

test('layers on a loopback rpc-server: greedy output equals the local run; memory() shows the remote device', async () => {
  const server = await startRpcServer();
  const vlm = await loadRemote(server.endpoint);
  try {
    const mem = await vlm.memory();
    const remote = mem.devices.filter((d) => /^RPC/.test(d.device));
    assert.equal(remote.length, 1, JSON.stringify(mem.devices));
    assert.ok(remote[0].model > 0 && remote[0].context > 0, `weights and KV cache on the remote device: ${JSON.stringify(remote[0])}`);
    const cpu = mem.devices.find((d) => d.type === 'cpu');
    assert.ok(remote[0].model > cpu.model, `most weights remote: ${remote[0].model} vs ${cpu.model} local`);
    const image = await vlm.generate({ messages: userMessage(images.square, QUESTION), maxTokens: MAX_TOKENS });
    assert.equal(image.text, want.image);
    assert.equal((await vlm.generate({ prompt: 'The capital of France is', maxTokens: MAX_TOKENS })).text, want.text);
    // streamed
    let streamed = '';
    for await (const c of vlm.stream({ messages: userMessage(images.square, QUESTION), maxTokens: MAX_TOKENS })) streamed += c.text;
    assert.equal(streamed, want.image);
  } finally {
    await vlm.dispose();
  }
});

test('a killed rpc-server fails generation with ERR_RPC_UNAVAILABLE, no crash; the model stays sane, a reload works once it is back', async () => {
  const server = await startRpcServer();
  const vlm = await loadRemote(server.endpoint);
  try {
    assert.equal((await vlm.generate({ prompt: 'The capital of France is', maxTokens: 4 })).text.length > 0, true);
    // killed in the middle of a generation
    const stream = vlm.stream({ prompt: 'Once upon a time', maxTokens: 400, ignoreEos: true });
    let got = 0;
    const failure = await (async () => {
      try {
        for await (const c of stream) {
          got += c.text.length;
          if (got > 0 && server) await server.kill();
        }
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    assert.ok(failure instanceof RemoteDeviceError, `${failure}`);
    assert.equal(failure.code, 'ERR_RPC_UNAVAILABLE');
    assert.match(failure.message, new RegExp(server.endpoint.replace(/\./g, '\\.')));
    // every later request says the same, through generate and with an image; nothing hangs
    for (const req of [{ prompt: 'Hi', maxTokens: 2 }, { messages: userMessage(images.square, QUESTION), maxTokens: 2 }]) {
      await assert.rejects(vlm.generate(req), (e) => e instanceof RemoteDeviceError && e.code === 'ERR_RPC_UNAVAILABLE');
    }
    // the rest of the process is untouched
    assert.equal((await local.generate({ messages: userMessage(images.square, QUESTION), maxTokens: MAX_TOKENS })).text, want.image);
  } finally {
    await vlm.dispose();
  }
  // the server back on the same port: a new load connects afresh and answers as before
  const again = await startRpcServer(server.port);
  const reloaded = await loadRemote(again.endpoint);
  try {
    assert.equal((await reloaded.generate({ messages: userMessage(images.square, QUESTION), maxTokens: MAX_TOKENS })).text, want.image);
  } finally {
    await reloaded.dispose();
  }
});

test('a bad endpoint is an InvalidArgumentError before any work (even the model file is not looked at)', async () => {
  const bad = [
    'localhost', '127.0.0.1', ':50052', '127.0.0.1:', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:port', '[::1]:50052', '::1:50052',
    'a b:1', 'host:1:2', 'http://host:50052', '-host:1', 'host-:1', '',
  ];
  for (const e of bad) {
    await assert.rejects(loadModel({ model: '/nonexistent/model.gguf', rpc: [e] }), (err) => err instanceof InvalidArgumentError && err.code === 'ERR_INVALID_ARGUMENT' && /rpc\[0\]/.test(err.message), e);
  }
  for (const rpc of ['127.0.0.1:50052', [50052], [null], ['h:1', 'h:1'], Array.from({ length: 17 }, (_, i) => `h:${i + 1}`)]) {
    await assert.rejects(loadModel({ model: '/nonexistent/model.gguf', rpc }), InvalidArgumentError, JSON.stringify(rpc));
  }
  await assert.rejects(loadModel({ ...files, rpc: ['127.0.0.1:1'], memoryLimit: '1GB' }), InvalidArgumentError);
  await assert.rejects(estimateMemory({ ...files, rpc: ['127.0.0.1:1'] }), InvalidArgumentError);
});

test('an unreachable endpoint is a typed load error within the connect timeout, not a hang', async () => {
  const bound = DEFAULTS.rpcConnectTimeoutMs + 10_000; // the connect bound, plus a loaded machine's slack
  // nothing listens
  const closed = await freePort();
  let t = Date.now();
  await assert.rejects(loadRemote(`127.0.0.1:${closed}`), (e) => e instanceof RemoteDeviceError && e.code === 'ERR_RPC_UNAVAILABLE' && /cannot connect/.test(e.message));
  assert.ok(Date.now() - t < bound);
  // something listens but never speaks (llama.cpp's own client would wait for ever for its handshake)
  const silent = createServer(() => {});
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  try {
    t = Date.now();
    await assert.rejects(loadRemote(`127.0.0.1:${silent.address().port}`), (e) => e.code === 'ERR_RPC_UNAVAILABLE' && /handshake/.test(e.message));
    const took = Date.now() - t;
    assert.ok(took >= DEFAULTS.rpcConnectTimeoutMs - 100 && took < bound, `${took} ms`);
  } finally {
    silent.close();
  }
  // something that answers, but not the RPC protocol
  const other = createServer((sock) => sock.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  await new Promise((r) => other.listen(0, '127.0.0.1', r));
  try {
    await assert.rejects(loadRemote(`127.0.0.1:${other.address().port}`), (e) => e.code === 'ERR_RPC_UNAVAILABLE' && /rpc-server/.test(e.message));
  } finally {
    other.close();
  }
  // the process is fine
  assert.equal((await local.generate({ prompt: 'The capital of France is', maxTokens: MAX_TOKENS })).text, want.text);
});

test('the CLI: describe --rpc host:port answers as without it; a bad --rpc is a usage error (exit 2), an unreachable one exit 1', async () => {
  const server = await startRpcServer();
  const run = (extra) =>
    promisify(execFile)(process.execPath, [join(root, 'bin', 'smolvlm.mjs'), 'describe', images.square, '--model', files.model, '--mmproj', files.mmproj,
      '--max-tokens', '12', '--temp', '0', '--threads', String(THREADS), '--gpu', 'false', '-q', ...extra], { encoding: 'utf8' });
  const { stdout: plain } = await run([]);
  const { stdout: remote } = await run(['--rpc', server.endpoint]);
  assert.equal(remote, plain);
  await assert.rejects(run(['--rpc', 'nohost']), (e) => e.code === 2 && /--rpc: /.test(e.stderr));
  await assert.rejects(run(['--rpc', `127.0.0.1:${await freePort()}`]), (e) => e.code === 1 && /ERR_RPC_UNAVAILABLE/.test(e.stderr));
  await server.kill();
});
