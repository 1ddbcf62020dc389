// Request preparation with a fake model (marker, vision, a chat template in JS): request shapes,
// video expansion, marker counts, the errors users see, images decoded with their resolution. No addon.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { ImageError, InvalidArgumentError } from '../../dist/errors.js';
import { prepareRequest, renderMessages } from '../../dist/input/prepare.js';
import { checkedRequest } from '../../dist/options.js';

const M = '<__media__>';

function fakeModel({ hasVision = true, resolutionControl = true } = {}) {
  const calls = [];
  return {
    calls,
    info: { mediaMarker: M, hasVision, vision: hasVision ? { resolutionControl } : undefined },
    applyTemplate(messages, addAssistant) {
      calls.push({ messages, addAssistant });
      return messages.map((m) => `<|${m.role}|>${m.content}\n`).join('') + (addAssistant ? '<|assistant|>' : '');
    },
  };
}

/** Raw RGB pixels of one colour. */
function raw(width, height, rgb = [200, 10, 10]) {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = rgb[i % 3];
  return { data, width, height, channels: 3 };
}

const invalid = (pattern) => (err) => err instanceof InvalidArgumentError && err.code === 'ERR_INVALID_ARGUMENT' && pattern.test(err.message);

describe('chat requests', () => {
  test('rendered with the template, one decoded image per marker', async () => {
    const model = fakeModel();
    const { prompt, images } = await prepareRequest(
      { messages: [{ role: 'user', content: [{ type: 'image', image: raw(4, 2) }, { type: 'text', text: 'and' }, { type: 'image', image: raw(3, 3, [0, 0, 255]) }] }] },
      model,
    );
    assert.equal(prompt, `<|user|>${M}and${M}\n<|assistant|>`);
    assert.deepEqual(model.calls.map((c) => c.addAssistant), [true]);
    assert.deepEqual(images.map((i) => [i.width, i.height, i.data.length, i.longestEdge, i.tiling]), [[4, 2, 24, 0, true], [3, 3, 27, 0, true]]);
    assert.deepEqual([...images[1].data.subarray(0, 3)], [0, 0, 255], 'RGB pixels');
    assert.match(images[0].id, /^[0-9a-f]{64}:4x2$/);
    assert.notEqual(images[0].id, images[1].id);
  });

  test("a part's resolution wins over the request's", async () => {
    const { images } = await prepareRequest(
      {
        messages: [{ role: 'user', content: [{ type: 'image', image: raw(2, 2), longestEdge: 1024 }, { type: 'image', image: raw(2, 2), tiling: true }, { type: 'text', text: '?' }] }],
        image: { longestEdge: 768, tiling: false },
      },
      fakeModel(),
    );
    assert.deepEqual(images.map((i) => [i.longestEdge, i.tiling]), [[1024, false], [768, true]]);
    assert.equal(images[0].id, images[1].id, 'the same pixels, the same id');
  });

  test('video frames become timestamped images, one tile each where the projector allows it', async () => {
    // four frames at 1 fps, two kept: the middles of each half (frames 1 and 3, at 1 s and 3 s)
    const frames = [raw(2, 2), raw(2, 2, [0, 255, 0]), raw(2, 2, [0, 0, 255]), raw(2, 2, [9, 9, 9])];
    const request = { messages: [{ role: 'user', content: [{ type: 'video', video: frames, fps: 1, maxFrames: 2 }, { type: 'text', text: 'What happens?' }] }] };
    const untiled = await prepareRequest(request, fakeModel());
    assert.equal(untiled.images.length, 2);
    assert.deepEqual(untiled.images.map((i) => i.tiling), [false, false]);
    assert.match(untiled.prompt, /series of 2 frames from a 0:00:03 \[H:MM:SS\] video/);
    assert.match(untiled.prompt, new RegExp(`Frame from 00:01:${M}\nFrame from 00:03:${M}\n\nWhat happens\\?`));
    const tiled = await prepareRequest(request, fakeModel({ resolutionControl: false }));
    assert.deepEqual(tiled.images.map((i) => i.tiling), [true, true], "otherwise the model's own resolution");
  });

  test('message errors are the flattening ones', async () => {
    await assert.rejects(prepareRequest({ messages: [] }, fakeModel()), invalid(/^messages must be a non-empty array$/));
    await assert.rejects(prepareRequest({ messages: [{ role: 'user', content: [{ type: 'video' }] }] }, fakeModel()), invalid(/^video must be a file path or an array of frames$/));
  });

  test('renderMessages is the same rendering', () => {
    const r = renderMessages([{ role: 'user', content: [{ type: 'text', text: 'hi ' }, { type: 'image', image: 'x.png' }] }], fakeModel());
    assert.equal(r.prompt, `<|user|>hi ${M}\n<|assistant|>`);
    assert.deepEqual(r.images, [{ type: 'image', image: 'x.png' }]);
  });
});

describe('raw prompts', () => {
  test('used as is, images in marker order', async () => {
    const model = fakeModel();
    const { prompt, images } = await prepareRequest({ prompt: `A ${M} B ${M}`, images: [raw(1, 2), raw(2, 1)], image: { tiling: false } }, model);
    assert.equal(prompt, `A ${M} B ${M}`);
    assert.equal(model.calls.length, 0, 'no template');
    assert.deepEqual(images.map((i) => [i.width, i.height, i.tiling]), [[1, 2, false], [2, 1, false]]);
  });

  test('markers and images must agree', async () => {
    await assert.rejects(prepareRequest({ prompt: 'no marker', images: [raw(1, 1)] }, fakeModel()), invalid(/^the prompt has 0 media markers but 1 images were given$/));
    await assert.rejects(prepareRequest({ prompt: `${M}${M}`, images: [raw(1, 1)] }, fakeModel()), invalid(/^the prompt has 2 media markers but 1 images were given$/));
    await assert.rejects(prepareRequest({ prompt: `${M}` }, fakeModel()), invalid(/^the prompt has 1 media markers but 0 images were given$/));
    await assert.rejects(prepareRequest({ prompt: 'x', images: 'a.png' }, fakeModel()), invalid(/^images must be an array$/));
  });
});

describe('the errors users see', () => {
  test('neither messages nor prompt', async () => {
    for (const r of [{}, { prompt: 5 }, { text: 'hi' }]) await assert.rejects(prepareRequest(r, fakeModel()), invalid(/^request needs `messages` or `prompt`$/));
  });

  test('messages and prompt (or images) both: refused, not one silently ignored (fuzz api:1:47)', () => {
    for (const r of [{ messages: [{ role: 'user', content: 'hi' }], prompt: 'hi' }, { messages: [{ role: 'user', content: 'hi' }], images: [] }]) {
      assert.throws(() => checkedRequest(r, 'generate'), invalid(/^generate: give `messages` \(images as parts\) or `prompt` with `images`, not both$/));
    }
    checkedRequest({ messages: [{ role: 'user', content: 'hi' }], prompt: undefined }, 'generate');
  });

  test('an own __proto__ key is no prototype: its fields are not read as the message (fuzz api:1:30)', async () => {
    const messages = JSON.parse('[{"__proto__": {"role": "user", "content": "hi"}}]');
    await assert.rejects(prepareRequest({ messages }, fakeModel()), invalid(/^messages\[0\]\.role must be system, user or assistant$/));
    const part = JSON.parse('{"type": "text", "__proto__": {"text": "hi"}}');
    await assert.rejects(prepareRequest({ messages: [{ role: 'user', content: [part] }] }, fakeModel()), invalid(/^messages\[0\]\.content\[0\]: unknown option '__proto__'/));
    const request = JSON.parse('{"__proto__": {"prompt": "hi"}, "messages": [{"role": "user", "content": "hi"}]}');
    assert.throws(() => checkedRequest(request, 'generate'), invalid(/unknown option '__proto__'/));
  });

  test('an empty prompt', async () => {
    await assert.rejects(prepareRequest({ prompt: '' }, fakeModel()), invalid(/^the prompt is empty$/));
    const silent = { ...fakeModel(), applyTemplate: () => '' };
    await assert.rejects(prepareRequest({ messages: [{ role: 'user', content: 'hi' }] }, silent), invalid(/^the prompt is empty$/));
  });

  test('images for a model without vision', async () => {
    const noVision = fakeModel({ hasVision: false });
    for (const r of [{ prompt: M, images: [raw(1, 1)] }, { messages: [{ role: 'user', content: [{ type: 'image', image: raw(1, 1) }] }] }]) {
      await assert.rejects(prepareRequest(r, noVision), (err) => err instanceof ImageError && err.code === 'ERR_NO_VISION' && /without a projector/.test(err.message));
    }
    const { images } = await prepareRequest({ messages: [{ role: 'user', content: 'text is fine' }] }, noVision);
    assert.deepEqual(images, []);
  });

  test('bad resolution settings name the image', async () => {
    const r = (extra) => ({ messages: [{ role: 'user', content: [{ type: 'image', image: raw(1, 1) }, { type: 'image', image: raw(1, 1), ...extra }] }] });
    await assert.rejects(prepareRequest(r({ longestEdge: 10.5 }), fakeModel()), invalid(/^image 2: longestEdge must be a positive integer number of pixels$/));
    await assert.rejects(prepareRequest(r({ tiling: 'off' }), fakeModel()), invalid(/^image 2: tiling must be a boolean$/));
  });

  test('undecodable images', async () => {
    const r = { messages: [{ role: 'user', content: [{ type: 'image', image: Buffer.from('not an image') }] }] };
    await assert.rejects(prepareRequest(r, fakeModel()), (err) => err instanceof ImageError && err.code === 'ERR_IMAGE_INVALID');
  });
});

describe('caller mistakes in parts and images: typed, never internal', () => {
  const imageError = (pattern) => (err) => err instanceof ImageError && err.code === 'ERR_IMAGE_INVALID' && pattern.test(err.message);
  const chat = (...content) => ({ messages: [{ role: 'user', content }] });

  test('unknown keys on image, video and text parts name the nearest known one', async () => {
    await assert.rejects(prepareRequest(chat({ type: 'image', image: raw(1, 1), longestEgde: 512 }), fakeModel()), invalid(/^messages\[0\]\.content\[0\]: unknown option 'longestEgde' \(did you mean 'longestEdge'\?\)$/));
    await assert.rejects(prepareRequest(chat({ type: 'video', video: [raw(1, 1)], maxFrame: 2 }), fakeModel()), invalid(/^messages\[0\]\.content\[0\]: unknown option 'maxFrame' \(did you mean 'maxFrames'\?\)$/));
    await assert.rejects(prepareRequest(chat({ type: 'text', txt: 'hi' }), fakeModel()), invalid(/^messages\[0\]\.content\[0\]: unknown option 'txt' \(did you mean 'text'\?\)$/));
    // messages themselves may carry keys of their own (OpenAI's `name`)
    await prepareRequest({ messages: [{ role: 'user', content: 'hi', name: 'ann' }] }, fakeModel());
  });

  test('getters that throw in messages and parts', async () => {
    const part = Object.defineProperty({ type: 'image' }, 'image', { enumerable: true, get() { throw new Error('boom'); } });
    await assert.rejects(prepareRequest(chat(part), fakeModel()), invalid(/^messages\[0\]\.content\[0\]\.image cannot be read: boom$/));
    const msg = Object.defineProperty({ role: 'user' }, 'content', { enumerable: true, get() { throw new Error('no'); } });
    await assert.rejects(prepareRequest({ messages: [msg] }, fakeModel()), invalid(/^messages\[0\]\.content cannot be read: no$/));
  });

  test('raw images with data that is not bytes', async () => {
    for (const data of [null, undefined, 'abc', [1, 2, 3]]) {
      await assert.rejects(prepareRequest(chat({ type: 'image', image: { data, width: 1, height: 1, channels: 3 } }), fakeModel()), imageError(/^raw image data must be a Uint8Array or Buffer/));
    }
  });

  test('a DataView is taken as encoded bytes', async () => {
    const { images: want } = await prepareRequest(chat({ type: 'image', image: raw(2, 2) }), fakeModel());
    const sharp = (await import('sharp')).default;
    const png = await sharp(Buffer.from(raw(2, 2).data), { raw: { width: 2, height: 2, channels: 3 } }).png().toBuffer();
    const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
    const { images } = await prepareRequest(chat({ type: 'image', image: view }), fakeModel());
    assert.equal(images[0].id, want[0].id);
  });

  test('file: URLs on another host', async () => {
    await assert.rejects(prepareRequest(chat({ type: 'image', image: 'file://host/path/a.png' }), fakeModel()), imageError(/local file only/));
  });

  test('at most 256 images per request', async () => {
    const many = Array.from({ length: 257 }, () => ({ type: 'image', image: raw(1, 1) }));
    await assert.rejects(prepareRequest(chat(...many), fakeModel()), invalid(/^a request may hold at most 256 images \(video frames included\), got 257$/));
    await assert.rejects(prepareRequest({ prompt: M.repeat(257), images: many.map((p) => p.image) }, fakeModel()), invalid(/at most 256 images/));
  });

  test('an image over the pixel limit is refused from its header, naming the limit', async () => {
    // a PNG header that claims 16000 x 16000 pixels (the default limit is 8192 x 8192)
    const sharp = (await import('sharp')).default;
    const png = await sharp(Buffer.from(raw(1, 1).data), { raw: { width: 1, height: 1, channels: 3 } }).png().toBuffer();
    const big = Buffer.from(png);
    big.writeUInt32BE(16000, 16);
    big.writeUInt32BE(16000, 20);
    big.writeUInt32BE(crc32(big.subarray(12, 29)), 29); // the IHDR chunk's checksum
    await assert.rejects(prepareRequest(chat({ type: 'image', image: big }), fakeModel()), imageError(/^image is 16000x16000 = 256000000 pixels, over the limit of 67108864 pixels \(image\.maxPixels\)$/));
    const r = { ...chat({ type: 'image', image: png }), image: { maxPixels: 1 } };
    await prepareRequest(r, fakeModel());
    const two = { ...chat({ type: 'image', image: raw(2, 1) }), image: { maxPixels: 1 } };
    await assert.rejects(prepareRequest(two, fakeModel()), imageError(/over the limit of 1 pixels/));
  });
});
