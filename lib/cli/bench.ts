/** `smolvlm bench [image]`: image encode time, tokens/s and time to first token over a few runs. */
import { Option, type Command } from 'commander';
import { CLI_DEFAULTS, int, open, setup, withCommon, type CommonFlags } from './common.js';

async function bench(image: string | undefined, flags: CommonFlags & { runs: string }): Promise<void> {
  setup(flags);
  const runs = int('runs', flags.runs, 1)!;
  const maxTokens = int('max-tokens', flags.maxTokens, 1) ?? CLI_DEFAULTS.benchMaxTokens;
  const vlm = await open(flags);
  try {
    const { default: sharp } = await import('sharp');
    const picture = image ?? (await sharp({ create: { width: 1024, height: 768, channels: 3, background: '#3a7bd5' } }).png().toBuffer());
    for (let i = 0; i < runs; i++) {
      vlm.clearImageCache();
      const r = await vlm.generate({ messages: [{ role: 'user', content: [{ type: 'image', image: picture }, { type: 'text', text: 'Describe this image.' }] }], maxTokens, ignoreEos: true });
      const t = r.timings;
      process.stdout.write(`run ${i + 1}: image encode ${t.imageEncodeMs.toFixed(0)} ms, prompt ${t.promptTokensPerSecond.toFixed(1)} tok/s, generation ${t.tokensPerSecond.toFixed(1)} tok/s, time to first token ${t.timeToFirstTokenMs.toFixed(0)} ms\n`);
    }
  } finally {
    await vlm.dispose();
  }
}

export function register(program: Command): void {
  withCommon(program.command('bench').description('image encode time, tokens/s and time to first token').argument('[image]', 'an image (default: a generated 1024x768 picture)'))
    .addOption(new Option('--runs <n>', 'runs').default(String(CLI_DEFAULTS.benchRuns)))
    .action(bench);
}
