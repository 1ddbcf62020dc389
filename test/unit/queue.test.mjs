// The server's admission control (lib/server/queue.ts): 429 beyond slots + queue, at most
// slots + lookahead requests handed to the library, the rest waiting in order, every wait abortable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Admission } from '../../dist/server/queue.js';

const settled = async (p) => {
  let state = 'pending';
  p.then(() => (state = 'resolved'), () => (state = 'rejected'));
  await new Promise((r) => setImmediate(r));
  return state;
};

test('slots + lookahead run at once; the rest wait in arrival order; past slots + queue, 429', async () => {
  const a = new Admission({ slots: 2, maxQueue: 3, lookahead: 1 });
  const tickets = Array.from({ length: 5 }, () => a.admit());
  assert.throws(() => a.admit(), (e) => e.status === 429 && e.code === 'queue_full' && e.headers['retry-after'] === '1');
  const turns = tickets.map((t) => t.turn(new AbortController().signal));
  assert.deepEqual(await Promise.all(turns.map(settled)), ['resolved', 'resolved', 'resolved', 'pending', 'pending']);
  assert.equal(a.busy, 2);
  assert.equal(a.queued, 3);
  tickets[1].release();
  assert.deepEqual(await Promise.all(turns.slice(3).map(settled)), ['resolved', 'pending'], 'the first waiting one goes next');
  tickets[0].release();
  assert.equal(await settled(turns[4]), 'resolved');
  a.admit(); // room again
});

test('the default lookahead is the slot count; setSlots lets more run', async () => {
  const a = new Admission({ slots: 1, maxQueue: 8 });
  const turns = Array.from({ length: 4 }, () => a.admit().turn(new AbortController().signal));
  assert.deepEqual(await Promise.all(turns.map(settled)), ['resolved', 'resolved', 'pending', 'pending']);
  a.setSlots(2);
  assert.deepEqual(await Promise.all(turns.map(settled)), ['resolved', 'resolved', 'resolved', 'resolved']);
});

test('a wait is abortable and frees its place; release is idempotent', async () => {
  const a = new Admission({ slots: 1, maxQueue: 2, lookahead: 0 });
  const first = a.admit();
  await first.turn(new AbortController().signal);
  const waiting = a.admit();
  const ctl = new AbortController();
  const turn = waiting.turn(ctl.signal);
  const third = a.admit();
  const thirdTurn = third.turn(new AbortController().signal);
  ctl.abort(new Error('gone'));
  await assert.rejects(turn, /gone/);
  waiting.release();
  waiting.release();
  assert.equal(a.admitted, 2);
  first.release();
  assert.equal(await settled(thirdTurn), 'resolved', 'the aborted wait no longer holds its place in line');
  await assert.rejects(third.turn(new AbortController().signal), /twice/);
});

test('the server hands the library its slots plus a lookahead (default: the slot count)', async () => {
  const { ServerContext } = await import('../../dist/server/context.js');
  const fake = { disposed: false, info: { parallel: 1, contextSize: 1024, lora: [], name: 'fake' } };
  for (const [options, running] of [[{ maxQueue: 3 }, 2], [{ maxQueue: 3, lookahead: 3 }, 4], [{ maxQueue: 3, lookahead: 0 }, 1]]) {
    const ctx = new ServerContext(fake, options);
    await ctx.ready;
    const turns = Array.from({ length: 4 }, () => ctx.admission.admit().turn(new AbortController().signal));
    const states = await Promise.all(turns.map(settled));
    assert.equal(states.filter((s) => s === 'resolved').length, running, JSON.stringify(options));
    assert.throws(() => new ServerContext(fake, { lookahead: -1 }), /lookahead/);
  }
});
