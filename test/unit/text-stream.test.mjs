// TextStream (native/text_stream.cc) as plain C++: test/unit/text_stream_test.cc compiled with the
// system compiler, no addon. UTF-8 characters are never split, stop strings end the text and are
// held back while they may still be completing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { cleanUp, compile, noCompiler as skip } from './cxx.mjs';

let driver;
before(() => {
  if (!skip) driver = compile('text_stream_test', ['test/unit/text_stream_test.cc', 'native/text_stream.cc']);
});
after(cleanUp);

const hex = (items) => items.map((b) => (b.length ? Buffer.from(b).toString('hex') : '-')).join(',');

/** Each case `{ pieces: (string|Buffer)[], stops?: string[] }` -> `{ chunks: Buffer[], stopped }`. */
function run(...cases) {
  const input = cases.map((c) => `${hex(c.stops ?? [])}|${hex(c.pieces)}\n`).join('');
  const r = spawnSync(driver, { input, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trimEnd().split('\n').map((line) => {
    const [stopped, chunks] = line.split('|');
    return { stopped: Number(stopped), chunks: chunks.split(',').map((h) => Buffer.from(h, 'hex')) };
  });
}

const wholeCharacters = (c) => !c.toString('utf8').includes('\uFFFD');

test('UTF-8: a character split over pieces is released whole', { skip }, () => {
  const bytes = Buffer.from('héllo 😀 wörld, 日本');
  // every byte its own piece: the worst case
  const [r] = run({ pieces: [...bytes].map((b) => Buffer.from([b])) });
  assert.equal(r.stopped, -1);
  for (const c of r.chunks) assert.ok(wholeCharacters(c), `chunk ${c.toString('hex')} is whole characters`);
  assert.deepEqual(Buffer.concat(r.chunks), bytes);
  // a 4-byte character split 1 + 3 and 3 + 1
  const emoji = Buffer.from('😀');
  for (const at of [1, 2, 3]) {
    const [s] = run({ pieces: [Buffer.from([0x41, ...emoji.subarray(0, at)]), emoji.subarray(at)] });
    assert.equal(s.chunks[0].toString(), 'A', `split at ${at}: the partial character waits`);
    assert.equal(s.chunks[1].toString(), '😀');
  }
});

test('stop strings: the text ends before them, across pieces, and a possible start is held back', { skip }, () => {
  const [stop, across, earliest, multibyte] = run(
    { pieces: ['Hello wo', 'rld! More'], stops: ['world'] },
    { pieces: ['say wo', 'r', 'ld now'], stops: ['world'] },
    { pieces: ['one, two; three'], stops: [';', ','] },
    { pieces: ['le caf', Buffer.from([0xc3]), Buffer.from([0xa9]), ' noir'], stops: ['café'] },
  );
  assert.equal(stop.stopped, 1);
  assert.equal(Buffer.concat(stop.chunks).toString(), 'Hello ');
  assert.equal(stop.chunks[0].toString(), 'Hello ', 'the possible start of a stop string is held back');
  assert.equal(across.stopped, 2);
  assert.deepEqual(across.chunks.map(String), ['say ', '', '']);
  assert.equal(earliest.stopped, 0);
  assert.equal(Buffer.concat(earliest.chunks).toString(), 'one', 'the earliest stop string wins');
  assert.equal(multibyte.stopped, 2);
  assert.equal(Buffer.concat(multibyte.chunks).toString(), 'le ');
});

test('a near-miss releases the held-back text; the end flushes what is held', { skip }, () => {
  const [miss, end] = run({ pieces: ['Hello wo', 'nderful'], stops: ['world'] }, { pieces: ['Hello wor'], stops: ['world'] });
  assert.equal(miss.stopped, -1);
  assert.equal(Buffer.concat(miss.chunks).toString(), 'Hello wonderful');
  assert.deepEqual(end.chunks.map(String), ['Hello ', 'wor'], 'the flush releases the tail that never became a stop');
});

test('invalid UTF-8 is released as it is, an incomplete character waits', { skip }, () => {
  const [incomplete, invalid] = run({ pieces: [Buffer.from([0xe4, 0xb8]), 'A'] }, { pieces: [Buffer.from([0xff, 0x41]), Buffer.from([0x80])] });
  assert.equal(incomplete.chunks[0].length, 0, 'an incomplete character waits');
  assert.equal(Buffer.concat(incomplete.chunks).toString('hex'), 'e4b841', 'then goes out as it is');
  assert.equal(invalid.chunks[0].toString('hex'), 'ff41', 'an invalid lead byte does not hold anything back');
  assert.equal(Buffer.concat(invalid.chunks).toString('hex'), 'ff4180');
});

test('a piece longer than any buffer passes through whole', { skip }, () => {
  const long = 'ü'.repeat(5000) + '日本'; // 10 kB in one piece, ending in whole characters
  const [r, cut] = run({ pieces: [long] }, { pieces: [long + 'STOP tail'], stops: ['STOP'] });
  assert.equal(r.chunks[0].toString(), long);
  assert.equal(cut.stopped, 0);
  assert.equal(cut.chunks[0].toString(), long);
});
