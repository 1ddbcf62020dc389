// `smolvlm serve` as a process (test/fixtures/serve.mjs calls serveCommand): it prints its URL and a
// ready line; on SIGTERM it stops accepting, lets the request in flight finish, and exits 0; past
// the grace period it aborts what still runs, and still exits 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureFixture, root } from '../helpers.mjs';
import { until } from '../server-helpers.mjs';

/** Starts the server process; resolves with its URL once it printed the ready line. */
async function serve(flags = {}) {
  await ensureFixture({ size: 'tiny' }); // generated here, not inside the child's startup
  const child = spawn(process.execPath, [join(root, 'test', 'fixtures', 'serve.mjs'), JSON.stringify(flags)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = once(child, 'exit');
  for (;;) {
    if (/^ready: /m.test(stdout)) break;
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = /^listening on (http:\S+)$/m.exec(stdout)?.[1];
  assert.ok(url, stdout);
  return { child, url, exited, output: () => ({ stdout, stderr }) };
}

/** Starts a streamed chat completion; `events` fills as server-sent events arrive. */
async function streamRequest(url, maxTokens) {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Write a story.' }], max_tokens: maxTokens, temperature: 0, stream: true }),
  });
  assert.equal(res.status, 200);
  const events = [];
  const done = (async () => {
    let buf = '';
    for await (const chunk of res.body) {
      buf += Buffer.from(chunk).toString('utf8');
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        events.push(buf.slice(0, i).replace(/^data: /, ''));
        buf = buf.slice(i + 2);
      }
    }
    return events;
  })();
  return { events, done };
}

const contentEvents = (events) => events.filter((e) => e !== '[DONE]' && JSON.parse(e).choices?.[0]?.delta?.content);

test('prints its URL and a ready line; /health and /v1/models answer', async () => {
  const s = await serve({ parallel: 2 });
  try {
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const h = await fetch(`${s.url}/health`);
    assert.equal(h.status, 200);
    const models = await (await fetch(`${s.url}/v1/models`)).json();
    assert.match(models.data[0].id, /^smolvlm-tiny/);
  } finally {
    s.child.kill('SIGTERM');
    const [code] = await s.exited;
    assert.equal(code, 0, s.output().stderr);
  }
});

test('--kv-per-slot gives each slot its share of the context: a longer prompt is refused, a short one answers', async () => {
  const s = await serve({ parallel: 2, kvPerSlot: true }); // the fixture's context is 4096: 2048 per slot
  try {
    assert.match(s.output().stdout, /2 slots, context 4096 \(2048 per slot\)/);
    const ask = (content) => fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content }], max_tokens: 4, temperature: 0 }),
    });
    const long = await ask('word '.repeat(3000)); // fits the 4096 context, not a 2048 slot
    assert.equal(long.status, 400);
    assert.match((await long.json()).error.message, /per slot/);
    const ok = await ask('Hi');
    assert.equal(ok.status, 200);
    assert.ok((await ok.json()).choices[0].message.content.length > 0);
  } finally {
    s.child.kill('SIGTERM');
    await s.exited;
  }
});

test('SIGTERM with a request in flight: it finishes, new connections are refused, exit 0', async () => {
  const s = await serve({ grace: '10m' }); // a loaded machine generates slowly: the request must end by itself
  const r = await streamRequest(s.url, 200); // long enough to be in flight on a fast machine too
  while (contentEvents(r.events).length === 0) await new Promise((res) => setTimeout(res, 20));
  s.child.kill('SIGTERM');
  const atSignal = r.events.length;
  assert.ok(!r.events.includes('[DONE]'), 'the request is in flight');
  // it stops listening (a new connection is refused) while the stream goes on
  await until(() => fetch(`${s.url}/health`).then(() => false, () => true), 'new connections to be refused');
  const events = await r.done;
  const doneAt = performance.now();
  assert.equal(events.at(-1), '[DONE]');
  assert.ok(events.length > atSignal + 1, 'tokens kept coming after the signal');
  const finish = events.filter((e) => e !== '[DONE]').map((e) => JSON.parse(e)).find((e) => e.choices?.[0]?.finish_reason);
  assert.ok(finish, 'the request ran to its end');
  assert.equal(contentEvents(events).map((e) => JSON.parse(e).choices[0].delta.content).join('').length > 0, true);
  const [code, signal] = await s.exited;
  // the finished stream's keep-alive connection does not hold the close (fastify keeps idle ones 72 s)
  assert.ok(performance.now() - doneAt < 10_000, `exited ${Math.round(performance.now() - doneAt)} ms after the last request ended`);
  assert.equal(signal, null);
  assert.equal(code, 0, s.output().stderr);
  assert.match(s.output().stderr, /SIGTERM: shutting down/);
  assert.match(s.output().stderr, /stopped/);
});

test('past the grace period the request in flight is aborted, and the process still exits 0', async () => {
  const s = await serve({ grace: '300ms' });
  const r = await streamRequest(s.url, 2000);
  while (contentEvents(r.events).length === 0) await new Promise((res) => setTimeout(res, 20));
  s.child.kill('SIGTERM');
  const events = await r.done;
  const abortedAt = performance.now();
  const last = JSON.parse(events.at(-1));
  assert.equal(last.error.code, 'shutting_down');
  assert.ok(contentEvents(events).length < 2000);
  const [code] = await s.exited;
  assert.ok(performance.now() - abortedAt < 10_000, `exited ${Math.round(performance.now() - abortedAt)} ms after the abort`);
  assert.equal(code, 0, s.output().stderr);
});
