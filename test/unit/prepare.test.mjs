// Request preparation with a fake model (marker, vision, a chat template in JS): request shapes,
// video expansion, marker counts, the errors users see, images decoded with their resolution. No addon.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ImageError, InvalidArgumentError } from '../../dist/errors.js';
import { prepareRequest, renderMessages } from '../../dist/input/prepare.js';

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
