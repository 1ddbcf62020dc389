// What the gguf and meta classes share: the image they ask about, and trying a pair of files.

/** A 64x48 RGB gradient as raw pixels (no decoder involved: the case is about the model files). */
export function testImage() {
  const width = 64;
  const height = 48;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = (x * 4) & 0xff;
      data[o + 1] = (y * 5) & 0xff;
      data[o + 2] = ((x + y) * 3) & 0xff;
    }
  }
  return { data, width, height, channels: 3 };
}

/**
 * loadModel on `files`, one short generation (about `image` when there is a projector), dispose.
 * Warmup stays on (the default): it runs the projector's graph once at load, where many bad
 * projectors first fail.
 */
export async function tryFiles(k, files, image) {
  await k.withModel({ model: files.model, mmproj: files.mmproj }, async (vlm) => {
    await k.ask(vlm, files.mmproj ? image : undefined);
  });
}
