// The server's request body parser (lib/server/body-parse.ts): JSON text -> object, data: images
// decoded and replaced by references, prototype poisoning refused; on the JS thread and in the pool.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BodyParser } from '../../dist/server/body.js';
import { imageRef, parseBody } from '../../dist/server/body-parse.js';

const settings = { maxImages: 2, nonce: 'n0nce' };
const bytes = (s) => Buffer.from(s, 'utf8');
const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const chat = (url) => ({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }, { type: 'text', text: 'hi' }] }] });

test('a data: URL is decoded and replaced by a reference; other fields are left as sent', () => {
  const out = parseBody(bytes(JSON.stringify({ ...chat(`data:image/png;base64,${png.toString('base64')}`), max_tokens: 5 })), settings);
  assert.ok(!('failure' in out));
  assert.deepEqual(Buffer.from(out.images[0]), png);
  assert.equal(out.json.messages[0].content[0].image_url.url, imageRef('n0nce', 0));
  assert.equal(out.json.messages[0].content[1].text, 'hi');
  assert.equal(out.json.max_tokens, 5);
});

test('text outside ASCII is decoded as UTF-8; a byte order mark is dropped', () => {
  const text = 'Décris «ceci» 🖼️ — 日本語';
  const out = parseBody(bytes(JSON.stringify({ prompt: text })), settings);
  assert.equal(out.json.prompt, text);
  const bom = parseBody(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes('{"prompt":"a"}')]), settings);
  assert.equal(bom.json.prompt, 'a');
  // escaped forms of the same text parse to the same string (the ASCII path)
  assert.equal(parseBody(bytes('{"prompt":"D\\u00e9cris"}'), settings).json.prompt, 'Décris');
});

test('prototype poisoning is refused however it is spelled, at any depth', () => {
  for (const body of [
    '{"__proto__": {"admin": true}}',
    '{"messages": [{"role": "user", "content": [{"type": "text", "__proto__": {"text": "x"}}]}]}',
    '{"\\u005f_proto__": {}}',
    '{"a": {"constructor": {"prototype": {"polluted": 1}}}}',
    '{"constructor": {"prototype": {}}, "messages": []}',
  ]) {
    const out = parseBody(bytes(body), settings);
    assert.equal(out.failure?.code, 'invalid_json', body);
    assert.equal(out.failure.status, 400);
    assert.match(out.failure.message, /forbidden prototype property/);
  }
  // a "constructor" that is not an object with a prototype is ordinary data
  assert.equal(parseBody(bytes('{"constructor": "x", "b": {"constructor": {"name": 1}}}'), settings).json.constructor, 'x');
});

test('failures: empty, not JSON, too many images, a data: URL that is not an image or holds nothing', () => {
  const code = (body) => parseBody(typeof body === 'string' ? bytes(body) : body, settings).failure?.code;
  assert.equal(code(''), 'empty_body');
  assert.equal(code(' \n\t'), 'empty_body');
  assert.equal(code('{"messages": ['), 'invalid_json');
  assert.equal(code(Buffer.from([0x7b, 0xff, 0x7d])), 'invalid_json'); // not UTF-8: U+FFFD is no JSON
  const three = { messages: [{ role: 'user', content: Array.from({ length: 3 }, () => ({ type: 'image_url', image_url: { url: 'https://example.com/a.png' } })) }] };
  assert.equal(code(JSON.stringify(three)), 'too_many_images');
  assert.equal(code(JSON.stringify(chat('data:text/plain;base64,aGk='))), 'invalid_image_url');
  assert.equal(code(JSON.stringify(chat('data:image/png;base64,'))), 'invalid_image_url');
  assert.equal(code(JSON.stringify(chat('data:image/png;base64'))), 'invalid_image_url');
  // JSON that is not an object is returned as it is (the route's schema refuses it)
  assert.equal(parseBody(bytes('42'), settings).json, 42);
});

test('the pool parses large bodies off the JS thread with the same result', async () => {
  const parser = new BodyParser({ maxImages: 2, inlineBytes: 16 });
  try {
    const big = Buffer.alloc(300_000, 7);
    const body = bytes(JSON.stringify(chat(`data:image/png;base64,${big.toString('base64')}`)));
    const out = await parser.parse(body);
    assert.equal(parser.offloaded, 1);
    assert.deepEqual(Buffer.from(out.images[0]), big);
    assert.equal(parser.imageIndex(out.json.messages[0].content[0].image_url.url), 0);
    await assert.rejects(parser.parse(bytes('{"__proto__": {"x": 1}}')), (e) => e.status === 400 && e.code === 'invalid_json');
    assert.equal(parser.offloaded, 2);
  } finally {
    await parser.close();
  }
});
