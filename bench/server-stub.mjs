#!/usr/bin/env node
// Benchmark: the HTTP layer's own CPU per request, with no engine to share the cores with. The
// server (createServer, in a child process) serves a stub model that streams `--tokens` tokens,
// one per 2 ms timer, so what the child spends is the server's work: reading the body, parsing it
// and decoding its base64 image in the body workers, validation, SSE, GC. A client in this process
// sends `--requests` streamed chat requests at `--concurrency` (bodies built beforehand, keep-alive
// node:http). Reports the child's CPU per request by thread (from /proc, Linux only). The stub's own
// timers and generator count too (a little); it ignores aborts, so only the happy path is measured.
//   node bench/server-stub.mjs [--requests 200] [--concurrency 8] [--rounds 3] [--tokens 48]
//                              [--no-image] [--metrics]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchPhoto } from './photo.mjs';
import { threadCpu } from './proc-cpu.mjs';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    tokens: { type: 'string', default: '48' },
    'no-image': { type: 'boolean', default: false },
    metrics: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
  },
});

if (values.child) {
  const { createServer } = await import('../dist/server/index.js');
  const usage = { promptTokens: 100, completionTokens: 0, totalTokens: 100, imageTokens: 64, cachedTokens: 0 };
  const stub = {
    disposed: false,
    info: { contextSize: 8192, parallel: 8, lora: [], name: 'stub' },
    imageCacheStats: () => ({ hits: 0, misses: 0, encodes: 0, evictions: 0, bytes: 0 }),
    detokenize: async () => ' tok',
    async dispose() {},
    stream(req) {
      let done;
      const result = new Promise((r) => (done = r));
      const n = req.maxTokens ?? 16;
      const chunks = (async function* () {
        for (let i = 0; i < n; i++) {
          await new Promise((r) => setTimeout(r, 2));
          yield { text: ' tok' };
        }
        done({ text: ' tok'.repeat(n), finishReason: 'length', usage: { ...usage, completionTokens: n, totalTokens: 100 + n } });
      })();
      return { result, [Symbol.asyncIterator]: () => chunks };
    },
  };
  const app = createServer(stub, { maxQueue: 1024, metrics: values.metrics });
  console.log(`listening on ${await app.listen({ port: 0, host: '127.0.0.1' })}`);
  process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
} else {
  const png = readFileSync(await benchPhoto('server-stub.png'));
  const content = [...(values['no-image'] ? [] : [{ type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } }]), { type: 'text', text: 'Describe this image in detail.' }];
  const body = Buffer.from(JSON.stringify({ messages: [{ role: 'user', content }], max_tokens: Number(values.tokens), stream: true, stream_options: { include_usage: true } }));
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', ...(values.metrics ? ['--metrics'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  process.on('exit', () => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  while (!/listening on/.test(out)) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const url = new URL('/v1/chat/completions', /listening on (\S+)/.exec(out)[1]);
  const agent = new Agent({ keepAlive: true });
  const one = () =>
    new Promise((resolve, reject) => {
      const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d) => (text += d));
        res.on('end', () => (res.statusCode === 200 && text.endsWith('data: [DONE]\n\n') ? resolve() : reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  const threads = () => new Map([...threadCpu(child.pid)].map(([tid, c]) => [tid, [c.user, c.system]]));
  const N = Number(values.requests), C = Number(values.concurrency);
  if (!(N > 0 && C > 0 && N % C === 0)) throw new RangeError('--requests must be a positive multiple of --concurrency');
  for (let i = 0; i < 20; i++) await one(); // warm-up
  console.log(`${N} requests at ${C} clients, ${values['no-image'] ? 'no image' : `a ${body.length} B body with one PNG`}, ${values.tokens} tokens${values.metrics ? ', --metrics' : ''}`);
  for (let round = 0; round < Number(values.rounds); round++) {
    const before = threads(), t0 = performance.now();
    await Promise.all(Array.from({ length: C }, async () => { for (let i = 0; i < N / C; i++) await one(); }));
    const wall = performance.now() - t0;
    const gained = [...threads()].map(([tid, [u, s]]) => [tid === String(child.pid) ? 'main' : tid, u - (before.get(tid)?.[0] ?? 0), s - (before.get(tid)?.[1] ?? 0)]).filter(([, u, s]) => u + s > 0);
    const total = gained.reduce((a, [, u, s]) => a + u + s, 0);
    const main = gained.find(([t]) => t === 'main') ?? ['main', 0, 0];
    console.log(`  round ${round + 1}: server CPU ${(total / N).toFixed(2)} ms per request (JS thread ${((main[1] + main[2]) / N).toFixed(2)}), wall ${wall.toFixed(0)} ms; by thread (user/system ms): ${gained.map(([t, u, s]) => `${t} ${u}/${s}`).join(', ')}`);
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}
