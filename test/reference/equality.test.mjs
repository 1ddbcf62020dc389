// Greedy output of the addon equals llama.cpp's own llama-mtmd-cli, built from the same source,
// token for token (the CLI prints the token pieces; we compare the decoded bytes).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ensureFixture, ensureTestImages, loadTiny, referenceAnswer, slow, THREADS, userMessage } from '../helpers.mjs';
import { loadModel } from '../../dist/index.js';

const PROMPTS = ['Describe this image.', 'What is written on the sign? Answer briefly.'];
const MAX_TOKENS = 32;

function suite(size, load) {
  describe(`equality with llama-mtmd-cli (${size})`, () => {
    let vlm, files, images;
    before(async () => {
      files = await ensureFixture({ size });
      images = await ensureTestImages();
      vlm = await load(files);
    });
    after(() => vlm?.dispose());

    for (const kind of ['square', 'landscape', 'portrait']) {
      for (const prompt of PROMPTS) {
        test(`${kind} PNG, "${prompt}"`, async () => {
          const image = images[kind];
          const ours = await vlm.generate({ messages: userMessage(image, prompt), maxTokens: MAX_TOKENS, temperature: 0 });
          const theirs = await referenceAnswer({ ...files, image, prompt, maxTokens: MAX_TOKENS });
          assert.ok(ours.usage.imageTokens > 0, 'the image was tokenized');
          assert.ok(ours.text.length > 0, 'something was generated');
          assert.equal(ours.text + (ours.finishReason === 'stop' ? '\n' : ''), theirs);
        });
      }
    }

    test('the fixture is sensitive to its input (else equality proves little)', async () => {
      const outs = new Set();
      for (const kind of ['square', 'landscape', 'portrait']) {
        const r = await vlm.generate({ messages: userMessage(images[kind], PROMPTS[0]), maxTokens: 12 });
        outs.add(r.text);
      }
      assert.equal(outs.size, 3, 'three images give three answers');
      const a = await vlm.generate({ messages: userMessage(images.square, PROMPTS[0]), maxTokens: 12 });
      const b = await vlm.generate({ messages: userMessage(images.square, PROMPTS[1]), maxTokens: 12 });
      assert.notEqual(a.text, b.text, 'two prompts give two answers');
    });
  });
}

suite('tiny', () => loadTiny());
if (slow) {
  suite('256m', (files) => loadModel({ ...files, threads: THREADS, contextSize: 4096 }));
}
