/**
 * The `smolvlm` command: describe, chat, pull, models, rm, info, bench.
 * Exit codes: 0 success, 1 other failure, 2 usage, 3 model missing, 4 bad image, 5 out of memory.
 */
import { Command, CommanderError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import type { ChatMessage, ContentPart } from './chat.js';
import { SmolVLMError } from './errors.js';
import { listCached, removeCached, type DownloadProgress, type HubOptions } from './hub.js';
import { parseBytes } from './memory.js';
import { estimateMemory, loadModel, type LoadModelOptions, type SmolVLM } from './model.js';
import { DEFAULT_MODEL, findKnownModel, KNOWN_MODELS, resolveModelFiles } from './registry.js';
import { backendInfo, setLogLevel } from './system.js';

export const EXIT = { ok: 0, failure: 1, usage: 2, modelMissing: 3, badImage: 4, outOfMemory: 5 } as const;

interface CommonFlags {
  model?: string;
  mmproj?: string;
  ctx?: string;
  gpu?: string;
  gpuMemory?: string;
  threads?: string;
  temp?: string;
  maxTokens?: string;
  seed?: string;
  memoryLimit?: string;
  quiet?: boolean;
  verbose?: boolean;
  offline?: boolean;
  longestEdge?: string;
  tiling?: boolean;
}

class UsageError extends Error {}

function int(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${value}'`);
  return n;
}

function num(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number in [${min}, ${max}], got '${value}'`);
  return n;
}

/** A progress bar on stderr for downloads (none when quiet or not a terminal-less pipe). */
function downloadBars(quiet: boolean): { onProgress?: (p: DownloadProgress) => void; stop(): void } {
  if (quiet) return { stop() {} };
  const multi = new cliProgress.MultiBar(
    { format: ' {file} |{bar}| {percentage}% {value_mb}/{total_mb} MB', hideCursor: true, gracefulExit: true, clearOnComplete: false, stream: process.stderr, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  const mb = (b: number) => (b / 1e6).toFixed(1);
  return {
    onProgress(p) {
      let bar = bars.get(p.file);
      if (!bar && p.downloaded >= p.total) return; // already cached: nothing to show
      if (!bar) {
        bar = multi.create(p.total, 0, { file: p.file, value_mb: mb(0), total_mb: mb(p.total) });
        bars.set(p.file, bar);
      }
      bar.setTotal(p.total);
      bar.update(p.downloaded, { file: p.file, value_mb: mb(p.downloaded), total_mb: mb(p.total) });
    },
    stop: () => multi.stop(),
  };
}

function hubOptions(flags: CommonFlags, onProgress?: (p: DownloadProgress) => void): HubOptions {
  return { ...(flags.offline ? { offline: true } : {}), ...(onProgress ? { onProgress } : {}) };
}

function loadOptions(flags: CommonFlags): LoadModelOptions {
  if (flags.gpuMemory !== undefined && flags.gpu !== undefined && flags.gpu !== 'auto') throw new UsageError('--gpu-memory fits the layers itself: drop --gpu');
  const gpu = flags.gpuMemory !== undefined ? { memory: parseBytes(flags.gpuMemory, '--gpu-memory') } : flags.gpu === undefined ? undefined : flags.gpu === 'auto' ? 'auto' : flags.gpu === 'false' || flags.gpu === '0' || flags.gpu === 'off' ? false : flags.gpu === 'true' || flags.gpu === 'on' ? true : { layers: int('gpu', flags.gpu, -1)! };
  return {
    model: flags.model ?? DEFAULT_MODEL,
    mmproj: flags.mmproj,
    contextSize: int('ctx', flags.ctx, 16),
    threads: int('threads', flags.threads, 1),
    gpu,
    memoryLimit: flags.memoryLimit === undefined ? undefined : parseBytes(flags.memoryLimit, '--memory-limit'),
  };
}

async function open(flags: CommonFlags): Promise<SmolVLM> {
  const bars = downloadBars(!!flags.quiet || !process.stderr.isTTY);
  try {
    return await loadModel({ ...loadOptions(flags), hub: hubOptions(flags, bars.onProgress) });
  } finally {
    bars.stop();
  }
}

function sampling(flags: CommonFlags) {
  return {
    temperature: num('temp', flags.temp, 0, 100),
    maxTokens: int('max-tokens', flags.maxTokens, 1) ?? 256,
    seed: int('seed', flags.seed, 0),
    image: { longestEdge: int('longest-edge', flags.longestEdge, 1), ...(flags.tiling === false ? { tiling: false } : {}) },
  };
}

/** Resolution flags of the commands that take images. */
function withImageFlags(cmd: Command): Command {
  return cmd
    .option('--longest-edge <px>', 'scale images to this longest side before tiling: fewer tiles, fewer tokens (default: the model\'s)')
    .option('--no-tiling', 'encode each image as one tile (its overview): fastest, least detail');
}

function withCommon(cmd: Command): Command {
  return cmd
    .option('-m, --model <name|repo[:quant]|path>', `model: a known name, a hub repo or a .gguf path (default ${DEFAULT_MODEL})`)
    .option('--mmproj <path>', 'projector .gguf (implied for known names and hub repos)')
    .option('--ctx <tokens>', 'context size (default 4096)')
    .option('--gpu <auto|false|true|layers>', 'GPU offload (default auto: the layers that fit, projector included)')
    .option('--gpu-memory <size>', "fit the layers into this much memory per GPU, e.g. '2GB'")
    .option('--threads <n>', 'CPU threads (default: all cores)')
    .option('--temp <t>', 'temperature, 0 = greedy (default 0)')
    .option('--max-tokens <n>', 'tokens to generate at most (default 256)')
    .option('--seed <n>', 'sampling seed')
    .option('--memory-limit <size>', "memory budget, e.g. '1.5GB': the context shrinks to fit or loading fails")
    .option('--offline', 'use the local model cache only (also HF_HUB_OFFLINE=1)')
    .option('-q, --quiet', 'no progress output')
    .option('-v, --verbose', "llama.cpp's log on stderr, stack traces on errors");
}

function setup(flags: CommonFlags): void {
  setLogLevel(flags.verbose ? 'info' : 'none');
}

async function describe(images: string[], flags: CommonFlags & { prompt: string; json?: boolean }): Promise<void> {
  setup(flags);
  for (const image of images) {
    if (!/^(https?|data|file):/i.test(image) && !existsSync(image)) {
      throw new SmolVLMError('ERR_IMAGE_INVALID', `image not found: ${image}`);
    }
  }
  const params = sampling(flags); // usage errors before any download or load
  const vlm = await open(flags);
  try {
    const content: ContentPart[] = images.map((image) => ({ type: 'image', image }));
    content.push({ type: 'text', text: flags.prompt });
    const request = { messages: [{ role: 'user', content }] as ChatMessage[], ...params };
    if (flags.json) {
      const r = await vlm.generate(request);
      process.stdout.write(`${JSON.stringify({ model: vlm.info.name, text: r.text.trim(), finishReason: r.finishReason, usage: r.usage, timings: r.timings })}\n`);
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

async function chat(images: string[], flags: CommonFlags): Promise<void> {
  setup(flags);
  const params = sampling(flags);
  const vlm = await open(flags);
  let failed: unknown;
  const tty = !!process.stdin.isTTY;
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: tty });
  const history: ChatMessage[] = [];
  let pending: string[] = [...images];
  if (tty) {
    process.stdout.write(`${vlm.info.name || 'SmolVLM'}: /image <path> attaches an image, /clear, /exit\n`);
    rl.setPrompt('> ');
    rl.prompt();
  }
  try {
    for await (const raw of rl) {  // ends when stdin does
      const line = raw.trim();
      if (line === '/exit' || line === '/quit') break;
      if (line === '/clear') {
        history.length = 0;
        pending = [];
      } else if (line.startsWith('/image ')) {
        pending.push(line.slice(7).trim());
      } else if (line) {
        const content: ContentPart[] = pending.map((image) => ({ type: 'image', image }));
        content.push({ type: 'text', text: line });
        pending = [];
        history.push({ role: 'user', content });
        let answer = '';
        try {
          for await (const chunk of vlm.stream({ messages: history, ...params })) {
            const text = answer ? chunk.text : chunk.text.trimStart();
            process.stdout.write(text);
            answer += text;
          }
          process.stdout.write('\n');
          history.push({ role: 'assistant', content: answer });
        } catch (err) {
          history.pop();
          failed = err;
          process.stderr.write(`error: ${(err as Error).message}\n`);
        }
      }
      if (tty) rl.prompt();
    }
    if (flags.verbose) {
      const s = vlm.imageCacheStats();
      process.stderr.write(`[image encodes: ${s.encodes}, cache hits: ${s.hits}]\n`);
    }
  } finally {
    rl.close();
    await vlm.dispose();
  }
  // A script on stdin whose turn failed must not look like a success.
  if (failed && !tty) throw failed;
}

async function pull(model: string, flags: CommonFlags): Promise<void> {
  const bars = downloadBars(!!flags.quiet || !process.stderr.isTTY);
  try {
    const files = await resolveModelFiles(model, undefined, hubOptions(flags, bars.onProgress));
    process.stdout.write(`${files.model}\n${files.mmproj ?? ''}\n`);
  } finally {
    bars.stop();
  }
}

async function models(): Promise<void> {
  const cached = await listCached();
  const rows = cached.map((c) => ({
    model: KNOWN_MODELS.find((m) => m.repo === c.repo)?.name ?? c.repo,
    repo: c.repo,
    files: c.files.map((f) => f.path).join(', '),
    size: `${(c.sizeBytes / 1e6).toFixed(1)} MB`,
  }));
  if (rows.length === 0) process.stdout.write(`no models cached yet: try 'smolvlm pull ${DEFAULT_MODEL}'\n`);
  else for (const r of rows) process.stdout.write(`${r.model}\t${r.size}\t${r.files}\n`);
}

async function rm(model: string): Promise<void> {
  const repo = findKnownModel(model.split(':')[0])?.repo ?? model.split(':')[0];
  if (!(await removeCached(repo))) throw new SmolVLMError('ERR_MODEL_NOT_FOUND', `${model} is not in the cache`);
  process.stdout.write(`removed ${repo}\n`);
}

async function info(model: string | undefined, flags: CommonFlags & { json?: boolean }): Promise<void> {
  setup(flags);
  const base = loadOptions({ ...flags, model: model ?? flags.model });
  // resolve (and download) once; the estimate and the load then read the same local files
  const bars = downloadBars(!!flags.quiet || !process.stderr.isTTY);
  let files;
  try {
    files = await resolveModelFiles(base.model, base.mmproj, hubOptions(flags, bars.onProgress));
  } finally {
    bars.stop();
  }
  const options = { ...base, model: files.model, mmproj: files.mmproj };
  const estimate = await estimateMemory(options);
  const vlm = await loadModel({ ...options, warmup: false });
  try {
    const i = vlm.info;
    const out = {
      name: i.name, architecture: i.architecture, parameters: i.parameters, sizeBytes: i.sizeBytes, contextLength: i.contextLength,
      embeddingLength: i.embeddingLength, layers: i.layers, vocabSize: i.vocabSize, vision: i.vision ?? null,
      memory: { contextSize: i.contextSize, gpuLayers: estimate.gpuLayers, projectorOnGpu: estimate.projectorOnGpu, ...estimate.totals },
      addon: backendInfo().addon, gpuHints: backendInfo().gpuHints,
    };
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(out)}\n`);
      return;
    }
    const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
    const lines = [
      `name            ${i.name}`,
      `architecture    ${i.architecture}, ${(i.parameters / 1e6).toFixed(0)}M parameters, ${i.layers} layers, ${mb(i.sizeBytes)}`,
      `context         trained ${i.contextLength}, this load ${i.contextSize}`,
      i.vision ? `vision          ${i.vision.projectorType}, ${i.vision.imageSize}px tiles of ${i.vision.tokensPerTile} tokens, images scaled to ${i.vision.longestEdge}px` : 'vision          none (no projector)',
      `placement       ${estimate.gpuLayers ? `${estimate.gpuLayers} of ${i.layers + 1} layers on the GPU` : 'CPU'}, projector on the ${estimate.projectorOnGpu ? 'GPU' : 'CPU'}`,
      `memory          weights ${mb(estimate.totals.model)}, KV cache ${mb(estimate.totals.context)}, compute ${mb(estimate.totals.compute)}, projector ${mb(estimate.totals.projector)}: total ${mb(estimate.totals.all)}`,
      `addon           ${out.addon.package ? `${out.addon.package}@${out.addon.version}` : out.addon.source} (${out.addon.path}), CPU variant ${i.cpuVariant}`,
      ...out.gpuHints.map((h) => `gpu             ${h}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await vlm.dispose();
  }
}

async function bench(image: string | undefined, flags: CommonFlags & { runs: string }): Promise<void> {
  setup(flags);
  const runs = int('runs', flags.runs, 1)!;
  const maxTokens = int('max-tokens', flags.maxTokens, 1) ?? 64;
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

/** The exit code for an error. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || (err instanceof CommanderError && err.exitCode !== 0)) return EXIT.usage;
  const code = (err as { code?: string })?.code;
  if (code === 'ERR_INVALID_ARGUMENT') return EXIT.usage;
  if (code === 'ERR_MODEL_NOT_FOUND' || code === 'ERR_OFFLINE' || code === 'ERR_HUB_UNAUTHORIZED' || code === 'ERR_DOWNLOAD_FAILED') return EXIT.modelMissing;
  if (code === 'ERR_IMAGE_INVALID') return EXIT.badImage;
  if (code === 'ERR_INSUFFICIENT_MEMORY' || code === 'ERR_OUT_OF_MEMORY') return EXIT.outOfMemory;
  return EXIT.failure;
}

export function program(): Command {
  const p = new Command('smolvlm')
    .description('Run SmolVLM vision-language models locally (llama.cpp)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)');
  withImageFlags(withCommon(p.command('describe').description('describe images, streaming the answer').argument('<image...>', 'image paths or URLs')))
    .option('-p, --prompt <text>', 'the question', 'Describe this image.')
    .option('--json', 'one JSON object with text, usage and timings')
    .action(describe);
  withImageFlags(withCommon(p.command('chat').description('interactive chat; /image <path> attaches an image').argument('[image...]', 'images for the first message'))).action(chat);
  withCommon(p.command('pull').description('download a model and its projector into the cache').argument('<model>', 'known name or repo[:quant]')).action(pull);
  p.command('models').description('cached models and sizes').action(models);
  p.command('rm').description('remove a cached model').argument('<model>', 'known name or repo').action(rm);
  withCommon(p.command('info').description('metadata, tokens per tile and memory estimate').argument('[model]', 'known name, repo[:quant] or .gguf path'))
    .option('--json', 'as JSON')
    .action(info);
  withCommon(p.command('bench').description('image encode time, tokens/s and time to first token').argument('[image]', 'an image (default: a generated 1024x768 picture)'))
    .addOption(new Option('--runs <n>', 'runs').default('2'))
    .action(bench);
  return p;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    await program().parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage; // commander printed it
    const e = err as Error & { code?: string };
    process.stderr.write(verbose && e.stack ? `${e.stack}\n` : `smolvlm: ${e.message}${e.code ? ` (${e.code})` : ''}\n`);
    return exitCodeOf(err);
  }
}
