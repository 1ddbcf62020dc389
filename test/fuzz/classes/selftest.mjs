// selftest: cases with a known outcome, for test/model/fuzz.test.mjs to check the harness's
// classification end to end (not part of a fuzz run: it is not in CLASSES).

import { createServer } from 'node:http';

export const SELFTESTS = [
  ['abort()', 'crash', () => process.abort()],
  ['a promise that never settles', 'hang', () => new Promise(() => {})],
  ['a busy loop', 'hang', () => { for (;;); }],
  ['a plain Error', 'untyped', () => { throw new Error('plain'); }],
  ['ERR_INTERNAL', 'untyped', (k) => { throw new k.lib.SmolVLMError('ERR_INTERNAL', 'our bug'); }],
  ['a typed error', 'typed', (k) => { throw new k.lib.SmolVLMError('ERR_INVALID_ARGUMENT', 'bad'); }],
  ['a server left listening', 'hang', () => new Promise((r) => createServer().listen(0, '127.0.0.1', r))],
  ['an unhandled rejection after settling', 'crash', () => { setTimeout(() => Promise.reject(new Error('late')), 10); }],
  ['resolves where it must reject', 'wrong', () => {}, 'reject'],
  ['a reached note', 'reached', (k) => k.note({ reached: 'test' })],
  ['skipped', 'skipped', (k) => k.note({ skipped: 'test' })],
  ['finishNow', 'wrong', (k) => { k.note({ wrong: 'noted' }); k.finishNow(); }],
];

export async function generate({ index, k }) {
  const [name, , run, expect] = SELFTESTS[index];
  return { name, expect, run: () => run(k) };
}
