// Video parts: frames (given, or decoded by ffmpeg) sampled uniformly, each an image.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureTestImages, loadTiny, tempDir } from '../helpers.mjs';

let vlm, images;
before(async () => {
  vlm = await loadTiny();
  images = await ensureTestImages();
});
after(() => vlm?.dispose());

const video = (v) => [{ role: 'user', content: [{ type: 'video', ...v }, { type: 'text', text: 'What happens?' }] }];
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;

test('a frame array becomes one untiled image per frame, sampled down to maxFrames', async () => {
  const frames = Array(6).fill(images.square);
  const perTile = vlm.info.vision.tokensPerTile;
  const tiled = (await vlm.countTokens({ messages: [{ role: 'user', content: [{ type: 'image', image: images.square }, { type: 'text', text: 'x' }] }] })).image;
  assert.ok(tiled > perTile);
  const all = await vlm.countTokens({ messages: video({ video: frames, fps: 2 }) });
  const some = await vlm.countTokens({ messages: video({ video: frames, maxFrames: 3 }) });
  assert.equal(all.image, 6 * perTile, 'each frame is one tile (its overview), as SmolVLM2 encodes video');
  assert.equal(some.image, 3 * perTile);
  const asImages = await vlm.countTokens({ messages: video({ video: frames, fps: 2, tiling: true }) });
  assert.equal(asImages.image, 6 * tiled, 'tiling: true cuts frames like images');
  const mixed = [images.square, images.landscape, images.portrait, images.square];
  const r = await vlm.generate({ messages: video({ video: mixed, fps: 2 }), maxTokens: 4 });
  assert.equal(r.usage.imageTokens, 4 * perTile);
  assert.equal(r.usage.imageTokens, (await vlm.countTokens({ messages: video({ video: mixed, fps: 2 }) })).image);
});

test('frames keep the model\'s own resolution where it cannot take tiling: false', async () => {
  const { expandVideo } = await import('../../dist/input/video.js');
  const frames = [images.square, images.square];
  const smol = await expandVideo({ type: 'video', video: frames });
  const other = await expandVideo({ type: 'video', video: frames }, { untiledFrames: false });
  assert.deepEqual(smol.parts.filter((p) => p.type === 'image').map((p) => p.tiling), [false, false]);
  assert.deepEqual(other.parts.filter((p) => p.type === 'image').map((p) => p.tiling), [undefined, undefined]);
  assert.equal(vlm.info.vision.resolutionControl, true);
});

test('timestamps are in the prompt when the frame rate is known', async () => {
  const withTimes = await vlm.countTokens({ messages: video({ video: [images.square, images.square], fps: 1 }) });
  const without = await vlm.countTokens({ messages: video({ video: [images.square, images.square], fps: 1, timestamps: false }) });
  assert.ok(withTimes.text > without.text);
  assert.equal(withTimes.image, without.image);
});

test('bad video input is a typed error', async () => {
  const empty = await vlm.generate({ messages: video({ video: [] }) }).catch((e) => e);
  assert.equal(empty.code, 'ERR_IMAGE_INVALID');
  const missing = await vlm.generate({ messages: video({ video: '/nonexistent/clip.mp4' }) }).catch((e) => e);
  assert.equal(missing.code, 'ERR_IMAGE_INVALID');
  const bad = await vlm.generate({ messages: video({ video: [images.square], maxFrames: 0 }) }).catch((e) => e);
  assert.equal(bad.code, 'ERR_INVALID_ARGUMENT');
});

test('a video file without ffmpeg names the missing tool', async () => {
  const file = join(tempDir(), 'clip.mp4');
  writeFileSync(file, Buffer.alloc(1024));
  const saved = process.env.SMOLVLM_FFMPEG;
  process.env.SMOLVLM_FFMPEG = '/nonexistent/bin/ffmpeg';
  try {
    const err = await vlm.generate({ messages: video({ video: file }) }).catch((e) => e);
    assert.equal(err.code, 'ERR_TOOL_MISSING');
    assert.match(err.message, /ffmpeg|ffprobe/);
  } finally {
    if (saved === undefined) delete process.env.SMOLVLM_FFMPEG;
    else process.env.SMOLVLM_FFMPEG = saved;
  }
});

test('a video file is decoded by ffmpeg', { skip: hasFfmpeg ? false : 'ffmpeg is not installed' }, async () => {
  const file = join(tempDir(), 'clip.mp4');
  const made = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=duration=3:size=160x120:rate=10', '-pix_fmt', 'yuv420p', file]);
  assert.equal(made.status, 0, String(made.stderr));
  const r = await vlm.generate({ messages: video({ video: file, maxFrames: 4 }), maxTokens: 3 });
  assert.equal(r.usage.imageTokens, 4 * vlm.info.vision.tokensPerTile, 'four frames of one tile each');
});
