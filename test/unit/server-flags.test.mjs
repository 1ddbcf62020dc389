// `smolvlm serve` flags -> server options, checked before anything loads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parseDuration, serverOptions } from '../../dist/server/command.js';
import { tempDir } from '../helpers.mjs';

test('defaults: 127.0.0.1:8080, remote images off, metrics off', async () => {
  const o = await serverOptions({});
  assert.equal(o.host, '127.0.0.1');
  assert.equal(o.port, 8080);
  assert.equal(o.remoteImages, false);
  assert.equal(o.metrics, false);
  assert.equal(o.apiKey, undefined);
  assert.equal(o.maxQueue, 64);
  assert.equal(o.lookahead, undefined, 'the server default: the slot count');
  assert.equal(o.maxImages, 16);
});

test('values are parsed: sizes, durations, keys from a file, CORS lists', async () => {
  const file = `${tempDir()}/keys`;
  writeFileSync(file, '# keys\nalpha\n\n beta \n');
  const o = await serverOptions({ port: '0', maxBody: '5MB', timeout: '2m', grace: '500ms', apiKey: 'k', apiKeyFile: file, cors: 'https://a.example, https://b.example', allowRemoteImages: true, metrics: true });
  assert.equal(o.port, 0);
  assert.equal(o.maxBodyBytes, 5_000_000);
  assert.equal(o.timeoutMs, 120_000);
  assert.equal(o.shutdownGraceMs, 500);
  assert.deepEqual(o.apiKey, ['k', 'alpha', 'beta']);
  assert.deepEqual(o.cors, ['https://a.example', 'https://b.example']);
  assert.equal(o.remoteImages, 'public');
  assert.equal((await serverOptions({ cors: '*' })).cors, true);
  assert.equal((await serverOptions({ lookahead: '4' })).lookahead, 4);
  assert.equal((await serverOptions({ lookahead: '0' })).lookahead, 0);
  assert.equal(parseDuration('600', 'timeout'), 600_000);
  assert.equal(parseDuration('1h', 'timeout'), 3_600_000);
});

test('bad values are ERR_INVALID_ARGUMENT naming the flag', async () => {
  for (const [flags, name] of [[{ port: '70000' }, '--port'], [{ port: 'x' }, '--port'], [{ maxQueue: '-1' }, '--max-queue'], [{ lookahead: '1.5' }, '--lookahead'], [{ timeout: 'soon' }, '--timeout'], [{ maxBody: 'big' }, '--max-body'], [{ apiKeyFile: '/nonexistent/keys' }, 'API key file']]) {
    await assert.rejects(serverOptions(flags), (e) => e.code === 'ERR_INVALID_ARGUMENT' && e.message.includes(name), JSON.stringify(flags));
  }
});

test('smolvlm serve refuses a bad flag before it resolves or downloads the model', () => {
  const bin = fileURLToPath(new URL('../../bin/smolvlm.mjs', import.meta.url));
  for (const [args, name] of [[['--max-queue', '-1'], '--max-queue'], [['--lookahead', 'x'], '--lookahead']]) {
    const r = spawnSync(process.execPath, [bin, 'serve', '--model', 'ggml-org/SmolVLM-256M-Instruct-GGUF', ...args], { encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, new RegExp(`${name} must be an integer`), args.join(' '));
    assert.doesNotMatch(r.stderr, /download/i, args.join(' '));
  }
});
