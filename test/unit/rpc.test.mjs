// The rpc endpoint checks of loadModel({ rpc }) and the CLI's --rpc host:port[,host:port].
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadOptions } from '../../dist/cli/common.js';
import { nativeRpcEndpoints, parseRpcFlag } from '../../dist/rpc.js';

test('endpoints: hostnames and IPv4 with a port, in order', () => {
  assert.deepEqual(nativeRpcEndpoints(undefined), []);
  assert.deepEqual(nativeRpcEndpoints(['127.0.0.1:50052', 'gpu-box.lan:1', 'a:65535']), ['127.0.0.1:50052', 'gpu-box.lan:1', 'a:65535']);
  for (const bad of ['a', 'a:0', 'a:65536', '[::1]:1', 'a_b:1', 'a:1 ', ' a:1']) assert.throws(() => nativeRpcEndpoints([bad]), { code: 'ERR_INVALID_ARGUMENT' }, bad);
});

test('--rpc: comma lists and repeats, blanks dropped; a bad one is a usage error naming the flag', () => {
  assert.deepEqual(parseRpcFlag(['10.0.0.2:50052,10.0.0.3:50052', ' 10.0.0.4:1 ']), ['10.0.0.2:50052', '10.0.0.3:50052', '10.0.0.4:1']);
  assert.deepEqual(loadOptions({ model: 'x.gguf', rpc: ['h:1,h:2'] }).rpc, ['h:1', 'h:2']);
  assert.equal(loadOptions({ model: 'x.gguf' }).rpc, undefined);
  assert.throws(() => loadOptions({ model: 'x.gguf', rpc: ['h'] }), (e) => e.constructor.name === 'UsageError' && /^--rpc: /.test(e.message));
});
