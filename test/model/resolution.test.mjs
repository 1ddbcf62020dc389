// Per-image resolution: longestEdge (fewer tiles) and tiling: false (the overview only), laid out
// with the tokens SmolVLM uses, cached with the pixels they encode, and checked before any work.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureTestImages, loadTiny } from '../helpers.mjs';

let vlm, images, info;
before(async () => {
  vlm = await loadTiny();
  images = await ensureTestImages();
  info = vlm.info.vision;
});
after(() => vlm?.dispose());

const ask = (parts, text = 'Describe.') => [{ role: 'user', content: [...parts, { type: 'text', text }] }];
const image = (img, extra = {}) => ({ type: 'image', image: img, ...extra });

/**
 * The text around an image's embeddings, as Hugging Face's Idefics3 processor writes it (and
 * mtmd emits): a row-major grid of tiles, then the overview; without tiles, the overview alone.
 */
function layout(rows, cols) {
  if (rows === 0) return '<fake_token_around_image><global-img><fake_token_around_image>';
  let s = '';
  for (let r = 1; r <= rows; r++) {
    for (let c = 1; c <= cols; c++) s += `<fake_token_around_image><row_${r}_col_${c}>`;
    if (r < rows) s += '\n';
  }
  return `${s}\n\n<fake_token_around_image><global-img><fake_token_around_image>`;
}

/** Tokens of the chat prompt with each media marker replaced by its layout text. */
async function textTokens(messages, layouts) {
  const prompt = vlm.formatPrompt(messages).split(vlm.info.mediaMarker).reduce((acc, piece, i) => acc + layouts[i - 1] + piece);
  return (await vlm.tokenize(prompt, { addSpecial: true })).length;
}

test('defaults: the tile grid of mtmd, as the reference CLI sees it', async () => {
  // landscape 640x480 -> longest side 256 -> 256x192 -> 2x2 tiles of 128 + overview
  const m = ask([image(images.landscape)]);
  const c = await vlm.countTokens({ messages: m });
  assert.equal(c.image, 5 * info.tokensPerTile);
  assert.equal(c.text, await textTokens(m, [layout(2, 2)]), 'layout helper agrees with mtmd');
});

test('tiling: false keeps the overview alone, in the unsplit image layout', async () => {
  for (const img of [images.square, images.landscape, images.portrait]) {
    const m = ask([image(img, { tiling: false })]);
    const c = await vlm.countTokens({ messages: m });
    assert.equal(c.image, info.tokensPerTile, 'one tile of tokens');
    assert.equal(c.text, await textTokens(m, [layout(0, 0)]));
    const r = await vlm.generate({ messages: m, maxTokens: 6 });
    assert.equal(r.usage.imageTokens, info.tokensPerTile);
    assert.equal(r.usage.promptTokens, c.total);
  }
});

test('longestEdge scales the image down before tiling', async () => {
  // portrait 320x720: default 256 -> 114x256 -> 1x2 tiles; 128 -> 1x1
  const def = await vlm.countTokens({ messages: ask([image(images.portrait)]) });
  assert.equal(def.image, 3 * info.tokensPerTile);
  // one tile's edge: Hugging Face's processor does not split, it writes the unsplit layout
  const m = ask([image(images.portrait, { longestEdge: info.imageSize })]);
  const small = await vlm.countTokens({ messages: m });
  assert.equal(small.image, info.tokensPerTile);
  assert.equal(small.text, await textTokens(m, [layout(0, 0)]));
  assert.deepEqual(small, await vlm.countTokens({ messages: ask([image(images.portrait, { tiling: false })]) }));
  // the model's own edge is the default, spelled out
  const same = await vlm.countTokens({ messages: ask([image(images.portrait, { longestEdge: info.longestEdge })]) });
  assert.deepEqual(same, def);
  const r = await vlm.generate({ messages: m, maxTokens: 6 });
  assert.equal(r.usage.imageTokens, small.image);
});

test('settings per image part, or for the whole request; parts win', async () => {
  const parts = [image(images.landscape), image(images.square, { tiling: false }), image(images.portrait, { longestEdge: info.imageSize })];
  const m = ask(parts, 'Compare them.');
  const c = await vlm.countTokens({ messages: m });
  assert.equal(c.image, (5 + 1 + 1) * info.tokensPerTile);
  assert.equal(c.text, await textTokens(m, [layout(2, 2), layout(0, 0), layout(0, 0)]));
  const r = await vlm.generate({ messages: m, maxTokens: 6 });
  assert.equal(r.usage.promptTokens, c.total);

  const all = await vlm.countTokens({ messages: ask([image(images.landscape), image(images.square)]), image: { tiling: false } });
  assert.equal(all.image, 2 * info.tokensPerTile);
  const override = await vlm.countTokens({ messages: ask([image(images.landscape, { tiling: true }), image(images.square)]), image: { tiling: false } });
  assert.equal(override.image, 6 * info.tokensPerTile);

  const raw = await vlm.countTokens({ prompt: `${vlm.info.mediaMarker}x`, images: [images.landscape], image: { longestEdge: info.imageSize } });
  assert.equal(raw.image, info.tokensPerTile);
});

test('the overview is cached with the pixels it encodes: one tile at the tile edge equals tiling: false', async () => {
  const fresh = await loadTiny({ promptCache: false }); // the same prompt would reuse its KV cells instead of the image cache
  try {
    await fresh.generate({ messages: ask([image(images.square, { longestEdge: info.imageSize })]), maxTokens: 2 });
    const s1 = fresh.imageCacheStats();
    assert.equal(s1.encodes, 1, 'the overview alone');
    const a = await fresh.generate({ messages: ask([image(images.square, { tiling: false })]), maxTokens: 8 });
    const s2 = fresh.imageCacheStats();
    assert.equal(s2.encodes, s1.encodes, 'the overview came from the cache: the same pixels');
    assert.equal(s2.hits, s1.hits + 1);
    // other settings are other pixels: no false hit
    await fresh.generate({ messages: ask([image(images.square)]), maxTokens: 2 });
    assert.equal(fresh.imageCacheStats().encodes, s2.encodes + 5);
    // the cached answer equals an uncached engine's
    const uncached = await loadTiny({ imageCache: false });
    try {
      const b = await uncached.generate({ messages: ask([image(images.square, { tiling: false })]), maxTokens: 8 });
      assert.equal(b.text, a.text);
    } finally {
      await uncached.dispose();
    }
  } finally {
    await fresh.dispose();
  }
});

test('requests with different settings at the same time count as they do alone', async () => {
  const variants = [{}, { tiling: false }, { longestEdge: info.imageSize }, { tiling: false }, {}];
  const alone = [];
  for (const v of variants) alone.push((await vlm.countTokens({ messages: ask([image(images.landscape, v), image(images.portrait)]) })).image);
  const together = await Promise.all(
    variants.flatMap((v) => [
      vlm.countTokens({ messages: ask([image(images.landscape, v), image(images.portrait)]) }).then((c) => c.image),
      vlm.generate({ messages: ask([image(images.landscape, v), image(images.portrait)]), maxTokens: 2 }).then((r) => r.usage.imageTokens),
    ]),
  );
  assert.deepEqual(together, alone.flatMap((n) => [n, n]));
  assert.deepEqual(alone, [8, 4, 4, 4, 8].map((tiles) => tiles * info.tokensPerTile));
});

test('the overview alone is not the tiled answer', async () => {
  const tiled = await vlm.generate({ messages: ask([image(images.landscape)]), maxTokens: 12, tokens: true });
  const overview = await vlm.generate({ messages: ask([image(images.landscape, { tiling: false })]), maxTokens: 12, tokens: true });
  const again = await vlm.generate({ messages: ask([image(images.landscape, { tiling: false })]), maxTokens: 12, tokens: true });
  assert.deepEqual(again.tokens, overview.tokens, 'deterministic');
  assert.notDeepEqual(overview.tokens, tiled.tokens);
});

test('bad settings are typed errors before any work, and the model stays usable', async () => {
  const bad = [
    [{ longestEdge: info.imageSize - 1 }, /longestEdge must be an integer from 128/],
    [{ longestEdge: info.longestEdge + 1 }, /to 256/],
    [{ longestEdge: 200.5 }, /integer/],
    [{ longestEdge: '512' }, /integer/],
    [{ tiling: 'no' }, /tiling must be a boolean/],
  ];
  for (const [settings, message] of bad) {
    for (const call of [(m) => vlm.generate({ messages: m, maxTokens: 2 }), (m) => vlm.countTokens({ messages: m })]) {
      const err = await call(ask([image(images.square, settings)])).catch((e) => e);
      assert.equal(err.code, 'ERR_INVALID_ARGUMENT', JSON.stringify(settings));
      assert.match(err.message, message);
    }
  }
  const err = await vlm.generate({ messages: ask([image(images.square)]), image: { longestEdge: 1 }, maxTokens: 2 }).catch((e) => e);
  assert.equal(err.code, 'ERR_INVALID_ARGUMENT');
  const ok = await vlm.generate({ messages: ask([image(images.square, { tiling: false })]), maxTokens: 2 });
  assert.equal(ok.usage.completionTokens, 2);
});
