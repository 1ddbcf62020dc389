/** `smolvlm describe <image...>`: one question about images, the answer streamed to stdout (or one JSON object). */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { invalid, SmolVLMError } from '../errors.js';
import type { ChatMessage, ContentPart, JsonSchema } from '../types.js';
import { CLI_DEFAULTS, open, sampling, setup, withCommon, withImageFlags, type CommonFlags } from './common.js';

/** The JSON Schema in `file` (--json-schema). */
async function readSchema(file: string): Promise<JsonSchema> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw invalid(`--json-schema: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as JsonSchema;
  } catch (err) {
    throw invalid(`--json-schema: ${file} is not JSON: ${(err as Error).message}`);
  }
}

async function describe(images: string[], flags: CommonFlags & { prompt: string; json?: boolean; jsonSchema?: string }): Promise<void> {
  setup(flags);
  for (const image of images) {
    if (!/^(https?|data|file):/i.test(image) && !existsSync(image)) {
      throw new SmolVLMError('ERR_IMAGE_INVALID', `image not found: ${image}`);
    }
  }
  const params = sampling(flags); // usage errors before any download or load
  const jsonSchema = flags.jsonSchema === undefined ? undefined : await readSchema(flags.jsonSchema);
  const vlm = await open(flags);
  try {
    const content: ContentPart[] = images.map((image) => ({ type: 'image', image }));
    content.push({ type: 'text', text: flags.prompt });
    const request = { messages: [{ role: 'user', content }] as ChatMessage[], ...params, ...(jsonSchema ? { jsonSchema } : {}) };
    if (flags.json) {
      const r = await vlm.generate(request);
      const json = r.json === undefined ? {} : { json: r.json };
      process.stdout.write(`${JSON.stringify({ model: vlm.info.name, text: r.text.trim(), ...json, finishReason: r.finishReason, usage: r.usage, timings: r.timings })}\n`);
      return;
    }
    const stream = vlm.stream(request);
    let first = true;
    for await (const chunk of stream) {
      process.stdout.write(first ? chunk.text.trimStart() : chunk.text);
      if (chunk.text.trim()) first = false;
    }
    const r = await stream.result;
    process.stdout.write('\n');
    if (flags.verbose) process.stderr.write(`[${r.usage.imageTokens} image tokens, ${r.usage.completionTokens} generated, ${r.timings.tokensPerSecond.toFixed(1)} tok/s]\n`);
  } finally {
    await vlm.dispose();
  }
}

export function register(program: Command): void {
  withImageFlags(withCommon(program.command('describe').description('describe images, streaming the answer').argument('<image...>', 'image paths or URLs')))
    .option('-p, --prompt <text>', 'the question', CLI_DEFAULTS.prompt)
    .option('--json', 'one JSON object with text, usage and timings')
    .option('--json-schema <file>', 'constrain the answer to JSON valid against the JSON Schema in <file>')
    .action(describe);
}
