// flattenMessages: every shape error of a message, and where the media markers land. No addon.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from '../../dist/errors.js';
import { flattenMessages } from '../../dist/input/chat.js';

const M = '<__media__>';
const img = (image, extra = {}) => ({ type: 'image', image, ...extra });
const text = (t) => ({ type: 'text', text: t });

function rejects(messages, pattern) {
  assert.throws(
    () => flattenMessages(messages, M),
    (err) => err instanceof InvalidArgumentError && err.code === 'ERR_INVALID_ARGUMENT' && pattern.test(err.message),
    `expected ${pattern}`,
  );
}

describe('flattenMessages errors', () => {
  test('messages must be a non-empty array', () => {
    for (const bad of [undefined, null, 'hi', {}, 5, []]) rejects(bad, /^messages must be a non-empty array$/);
  });

  test('each message must be an object', () => {
    rejects([null], /^messages\[0\] must be an object$/);
    rejects([{ role: 'user', content: 'a' }, 'hello'], /^messages\[1\] must be an object$/);
  });

  test('roles are system, user or assistant', () => {
    for (const role of ['robot', 'User', '', undefined, 3]) rejects([{ role, content: 'hi' }], /^messages\[0\]\.role must be system, user or assistant$/);
  });

  test('content is a string or an array of parts', () => {
    for (const content of [5, { type: 'text', text: 'x' }, null, undefined]) {
      rejects([{ role: 'user', content }], /^messages\[0\]\.content must be a string or an array of parts$/);
    }
  });

  test('a text part needs a string', () => {
    rejects([{ role: 'user', content: [text('ok'), { type: 'text', text: 7 }] }], /^messages\[0\]\.content\[1\]\.text must be a string$/);
  });

  test('text must not contain the media marker', () => {
    rejects([{ role: 'user', content: `look ${M}` }], /^messages\[0\]\.content\[0\]\.text contains the media marker <__media__>$/);
    rejects([{ role: 'system', content: 'x' }, { role: 'user', content: [img('a.png'), text(M)] }], /^messages\[1\]\.content\[1\]\.text contains/);
  });

  test('an image part needs its image', () => {
    rejects([{ role: 'user', content: [{ type: 'image' }] }], /^messages\[0\]\.content\[0\]\.image is missing$/);
    rejects([{ role: 'user', content: [text('a'), { type: 'image', image: null }] }], /^messages\[0\]\.content\[1\]\.image is missing$/);
  });

  test('video parts must have been expanded first', () => {
    rejects([{ role: 'user', content: [{ type: 'video', video: ['a.png'] }] }], /^messages\[0\]\.content\[0\]: video parts are expanded before flattening$/);
  });

  test('unknown part types', () => {
    for (const part of [{ type: 'audio' }, {}, null, 'text']) {
      rejects([{ role: 'user', content: [part] }], /^messages\[0\]\.content\[0\]\.type must be 'text', 'image' or 'video'$/);
    }
  });

  test('all messages empty', () => {
    rejects([{ role: 'user', content: '' }], /^messages have no content$/);
    rejects([{ role: 'system', content: [] }, { role: 'user', content: [text('')] }], /^messages have no content$/);
  });
});

describe('flattenMessages layout', () => {
  test('a string content is one text part', () => {
    const flat = flattenMessages([{ role: 'user', content: 'hello' }], M);
    assert.deepEqual(flat, { messages: [{ role: 'user', content: 'hello' }], images: [] });
  });

  test('one marker per image part, where the part stands, images in prompt order', () => {
    const a = img('a.png', { longestEdge: 1024 }), b = img(Buffer.from([1])), c = img('c.png', { tiling: false });
    const flat = flattenMessages(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [a, text('first'), b] },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: [text('then '), c, text(' and?')] },
      ],
      M,
    );
    assert.deepEqual(flat.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: `${M}first${M}` },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: `then ${M} and?` },
    ]);
    assert.equal(flat.images.length, 3);
    assert.ok(flat.images[0] === a && flat.images[1] === b && flat.images[2] === c, 'the parts themselves, with their resolution settings');
  });

  test('an image alone is content; consecutive images are adjacent markers', () => {
    const flat = flattenMessages([{ role: 'user', content: [img('a'), img('b')] }], M);
    assert.equal(flat.messages[0].content, `${M}${M}`);
    assert.equal(flat.images.length, 2);
  });

  test('the marker is the one given', () => {
    const flat = flattenMessages([{ role: 'user', content: [text('see <__media__> '), img('a')] }], '<image>');
    assert.equal(flat.messages[0].content, 'see <__media__> <image>');
  });

  test('empty messages among non-empty ones are kept', () => {
    const flat = flattenMessages([{ role: 'system', content: '' }, { role: 'user', content: 'q' }], M);
    assert.deepEqual(flat.messages.map((m) => m.content), ['', 'q']);
  });
});
