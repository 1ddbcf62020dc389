// SmolVLM-Instruct (2.2B) runs: its vocabulary has no <global-img> / <row_R_col_C> tokens (only
// <fake_token_around_image>, <image> and <end_of_utterance> are added), so the image layout must
// carry those markers as plain text, exactly as Hugging Face's Idefics3 processor writes them.
// The expected prompt is built here from the processor's own logic (transformers,
// models/idefics3/processing_idefics3.py `_prompt_split_image` / `_prompt_single_image`, and the
// row/column counts of image_processing_idefics3.py), not from the library's code, and compared
// with the prompt the engine evaluates (`promptTokens`), as text and as token ids.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadModel } from '../../dist/index.js';
import { ensureFixture, ensureTestImages, THREADS } from '../helpers.mjs';

// ---------------------------------------------------------------------------------------------
// Hugging Face's Idefics3 processor, reimplemented from its source
// ---------------------------------------------------------------------------------------------

const FAKE = '<fake_token_around_image>';
const IMAGE = '<image>';
const GLOBAL = '<global-img>';

/** processing_idefics3.py `_prompt_split_image`. */
function promptSplitImage(seqLen, rows, cols) {
  let s = '';
  for (let h = 0; h < rows; h++) {
    for (let w = 0; w < cols; w++) s += `${FAKE}<row_${h + 1}_col_${w + 1}>${IMAGE.repeat(seqLen)}`;
    s += '\n';
  }
  return `${s}\n${FAKE}${GLOBAL}${IMAGE.repeat(seqLen)}${FAKE}`;
}

/** processing_idefics3.py `_prompt_single_image`. */
const promptSingleImage = (seqLen) => `${FAKE}${GLOBAL}${IMAGE.repeat(seqLen)}${FAKE}`;

/** processing_idefics3.py `get_image_prompt_string`. */
const imagePromptString = (rows, cols, seqLen) => (rows === 0 && cols === 0 ? promptSingleImage(seqLen) : promptSplitImage(seqLen, rows, cols));

/**
 * image_processing_idefics3.py: the rows and columns an image is split into (0, 0: not split).
 * `resize` with size.longest_edge (`_resize_output_size_rescale_to_max_len`, then
 * `_resize_output_size_scale_below_upper_bound` with max_image_size 1820), then
 * `resize_for_vision_encoder` (each side up to a multiple of the tile), then `split_image`.
 * Without splitting (`do_image_splitting=False`) the processor passes rows = cols = 0.
 */
function hfGrid(width, height, longestEdge, tile, splitting = true) {
  if (!splitting) return [0, 0];
  let h = height, w = width;
  let aspect = w / h;
  if (w >= h) {
    w = longestEdge;
    h = Math.trunc(w / aspect);
    if (h % 2 !== 0) h += 1;
  } else {
    h = longestEdge;
    w = Math.trunc(h * aspect);
    if (w % 2 !== 0) w += 1;
  }
  h = Math.max(h, 1);
  w = Math.max(w, 1);
  const upper = 1820;
  aspect = w / h;
  if (w >= h && w > upper) {
    w = upper;
    h = Math.trunc(w / aspect);
  } else if (h > w && h > upper) {
    h = upper;
    w = Math.trunc(h * aspect);
  }
  h = Math.max(h, 1);
  w = Math.max(w, 1);
  // resize_for_vision_encoder
  aspect = w / h;
  if (w >= h) {
    w = Math.ceil(w / tile) * tile;
    h = Math.trunc(w / aspect);
    h = Math.ceil(h / tile) * tile;
  } else {
    h = Math.ceil(h / tile) * tile;
    w = Math.trunc(h * aspect);
    w = Math.ceil(w / tile) * tile;
  }
  // split_image
  if (h > tile || w > tile) return [Math.ceil(h / tile), Math.ceil(w / tile)];
  return [0, 0];
}

/** Idefics3Processor.__call__: each <image> of the text replaced with its image's prompt string. */
function hfPromptString(text, grids, seqLen) {
  const pieces = text.split(IMAGE);
  assert.equal(pieces.length - 1, grids.length, 'one <image> per image');
  return pieces.reduce((acc, piece, i) => acc + imagePromptString(...grids[i - 1], seqLen) + piece);
}

// ---------------------------------------------------------------------------------------------

const SIZES = { square: [512, 512], landscape: [640, 480], portrait: [320, 720] };

/** The prompt the engine evaluates, rendered: text runs detokenized, each image position `<image>`. */
async function rendered(vlm, tokens) {
  let out = '';
  for (let i = 0; i < tokens.length;) {
    let j = i;
    if (tokens[i] < 0) {
      while (j < tokens.length && tokens[j] < 0) j++;
      out += IMAGE.repeat(j - i);
    } else {
      while (j < tokens.length && tokens[j] >= 0) j++;
      out += await vlm.detokenize(tokens.slice(i, j), { special: true });
    }
    i = j;
  }
  return out;
}

/**
 * One case: `images` [{ name, longestEdge?, tiling? }] in one user turn. The HF prompt string
 * comes from the chat prompt the library renders (the template is not what this test is about),
 * with the media marker standing where the processor's text has `<image>`.
 */
async function check(vlm, images, parts, { seqLen, tile, longest }) {
  const content = [...parts.map((p) => ({ type: 'image', image: images[p.name], ...p.options })), { type: 'text', text: 'What is in the picture?' }];
  const messages = [{ role: 'user', content }];
  const tokens = await vlm.promptTokens({ messages });

  const text = vlm.formatPrompt(messages).split(vlm.info.mediaMarker).join(IMAGE);
  const grids = parts.map((p) => hfGrid(...SIZES[p.name], p.options?.longestEdge ?? longest, tile, p.options?.tiling !== false));
  const expected = hfPromptString(text, grids, seqLen);

  assert.equal(await rendered(vlm, tokens), expected, 'the prompt string equals the HF processor\'s');
  // token for token: the HF string tokenized as the processor's tokenizer does (added tokens split
  // the text, the rest is BPE), each <image> position where our engine puts an embedding
  const imageId = (await vlm.tokenize(IMAGE, { addSpecial: false, special: true }))[0];
  const hfIds = (await vlm.tokenize(expected, { addSpecial: true, special: true })).map((t) => (t === imageId ? -1 : t));
  assert.deepEqual(tokens, hfIds, 'the token ids equal the HF prompt tokenized');

  const nImage = tokens.filter((t) => t < 0).length;
  const tiles = grids.reduce((n, [r, c]) => n + r * c + 1, 0);
  assert.equal(nImage, tiles * seqLen, `${tiles} tiles of ${seqLen} tokens`);
  const counts = await vlm.countTokens({ messages });
  assert.deepEqual(counts, { total: tokens.length, image: nImage, text: tokens.length - nImage });

  const r = await vlm.generate({ messages, maxTokens: 6 });
  assert.equal(r.usage.promptTokens, tokens.length);
  assert.equal(r.usage.imageTokens, nImage);
  assert.equal(r.usage.completionTokens, 6);
  assert.ok(r.text.length > 0);
  return { tokens, text: r.text };
}

function suite(size, cases) {
  describe(`prompt layout of the ${size} fixture equals Hugging Face's Idefics3 processor`, () => {
    let vlm, images, geometry;
    before(async () => {
      const files = await ensureFixture({ size });
      images = await ensureTestImages();
      vlm = await loadModel({ ...files, threads: THREADS, contextSize: 8192 });
      const v = vlm.info.vision;
      geometry = { seqLen: v.tokensPerTile, tile: v.imageSize, longest: v.longestEdge };
    });
    after(() => vlm?.dispose());

    for (const [name, parts] of Object.entries(cases)) {
      test(name, async () => {
        await check(vlm, images, parts, geometry);
      });
    }
    if (size === 'tiny-2.2b') {
      test('the vocabulary is SmolVLM-Instruct\'s: three added tokens, no <global-img> or <row_R_col_C>', async () => {
        assert.equal(vlm.info.vocabSize, 49155);
        assert.equal(vlm.info.eosToken, 49154, '<end_of_utterance>');
        for (const [t, id] of [[FAKE, 49152], [IMAGE, 49153], ['<end_of_utterance>', 49154]]) {
          assert.deepEqual(await vlm.tokenize(t, { addSpecial: false, special: true }), [id], t);
        }
        for (const t of [GLOBAL, '<row_1_col_1>']) {
          assert.ok((await vlm.tokenize(t, { addSpecial: false, special: true })).length > 1, `${t} is text`);
        }
        assert.deepEqual(geometry, { seqLen: 81, tile: 384, longest: 1536 }, 'the 2.2B\'s tiling: 81 tokens per 384-pixel tile');
      });
      test('the images reach the model: different images, different answers', async () => {
        const outs = new Set();
        for (const name of ['landscape', 'portrait']) outs.add((await check(vlm, images, [{ name }], geometry)).text);
        assert.equal(outs.size, 2);
      });
    }
  });
}

// SmolVLM-Instruct (2.2B): markers as text; 384-pixel tiles, 81 tokens each, up to 4x4 at 1536.
suite('tiny-2.2b', {
  'a tiled image (landscape: 3 rows x 4 columns + overview)': [{ name: 'landscape' }],
  'a tiled portrait (4 x 2)': [{ name: 'portrait' }],
  'longestEdge 768 (2 x 2)': [{ name: 'landscape', options: { longestEdge: 768 } }],
  'longestEdge 384, one tile (HF does not split: the unsplit layout)': [{ name: 'landscape', options: { longestEdge: 384 } }],
  'tiling: false (the overview alone, the unsplit layout)': [{ name: 'square', options: { tiling: false } }],
  'three images with different settings in one prompt': [
    { name: 'square', options: { tiling: false } }, { name: 'portrait', options: { longestEdge: 768 } }, { name: 'landscape' },
  ],
});

// The 256M/500M/SmolVLM2 vocabulary (markers are tokens): the same processor string.
suite('tiny', {
  'a tiled image (2 x 2 + overview)': [{ name: 'landscape' }],
  'tiling: false': [{ name: 'portrait', options: { tiling: false } }],
  'longestEdge 128, one tile (HF does not split)': [{ name: 'portrait', options: { longestEdge: 128 } }],
  'two images': [{ name: 'portrait' }, { name: 'square', options: { tiling: false } }],
});
