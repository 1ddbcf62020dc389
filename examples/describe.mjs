#!/usr/bin/env node
// Describes an image, streaming the answer:
//   node examples/describe.mjs --model M.gguf --mmproj P.gguf [--prompt "..."] image.jpg
import { parseArgs } from 'node:util';
import { loadModel } from '../dist/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: 'string' },
    mmproj: { type: 'string' },
    prompt: { type: 'string', default: 'Describe this image.' },
    'max-tokens': { type: 'string', default: '256' },
  },
});
if (!values.model || !values.mmproj || positionals.length === 0) {
  console.error('usage: node examples/describe.mjs --model M.gguf --mmproj P.gguf [--prompt TEXT] image...');
  process.exit(2);
}
const vlm = await loadModel({ model: values.model, mmproj: values.mmproj });
try {
  const content = positionals.map((image) => ({ type: 'image', image }));
  content.push({ type: 'text', text: values.prompt });
  const stream = vlm.stream({ messages: [{ role: 'user', content }], maxTokens: Number(values['max-tokens']) });
  for await (const chunk of stream) process.stdout.write(chunk.text);
  const { usage, timings } = await stream.result;
  console.error(`\n[${usage.imageTokens} image tokens, ${usage.completionTokens} generated, ${timings.tokensPerSecond.toFixed(1)} tok/s]`);
} finally {
  await vlm.dispose();
}
