/**
 * What the commands share: exit codes, the common flags and their parsing into load options and
 * sampling options, opening a model with download progress bars, the CLI's own defaults.
 */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { loadModel } from '../load.js';
import { parseBytes } from '../memory.js';
import type { SmolVLM } from '../model.js';
import { DEFAULTS } from '../options.js';
import { parseRpcFlag } from '../rpc.js';
import { DEFAULT_MODEL } from '../registry.js';
import { setLogLevel } from '../system.js';
import type { DownloadProgress, HubOptions, LoadModelOptions, LoraOptions, SamplingOptions } from '../types.js';

export const EXIT = { ok: 0, failure: 1, usage: 2, modelMissing: 3, badImage: 4, outOfMemory: 5 } as const;

/** The CLI's defaults where they differ from the library's (DEFAULTS). */
export const CLI_DEFAULTS = Object.freeze({ maxTokens: 256, benchMaxTokens: 64, benchRuns: 2, prompt: 'Describe this image.' });

export interface CommonFlags {
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
  /** --lora path[:scale], repeatable. */
  lora?: string[];
  /** --rpc host:port[,host:port], repeatable. */
  rpc?: string[];
}

/** A bad flag value: exit code 2. */
export class UsageError extends Error {}

export function int(name: string, value: string | undefined, min: number): number | undefined {
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

/** Progress bars on stderr for downloads (none when quiet). */
export function downloadBars(quiet: boolean): { onProgress?: (p: DownloadProgress) => void; stop(): void } {
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

/** Runs `fn` with download progress bars (unless quiet or stderr is not a terminal) as its hub options. */
export async function withDownloads<T>(flags: CommonFlags, fn: (hub: HubOptions) => Promise<T>): Promise<T> {
  const bars = downloadBars(!!flags.quiet || !process.stderr.isTTY);
  try {
    return await fn({ ...(flags.offline ? { offline: true } : {}), ...(bars.onProgress ? { onProgress: bars.onProgress } : {}) });
  } finally {
    bars.stop();
  }
}

export function loadOptions(flags: CommonFlags): LoadModelOptions {
  if (flags.gpuMemory !== undefined && flags.gpu !== undefined && flags.gpu !== 'auto') throw new UsageError('--gpu-memory fits the layers itself: drop --gpu');
  const gpu = flags.gpuMemory !== undefined ? { memory: parseBytes(flags.gpuMemory, '--gpu-memory') } : flags.gpu === undefined ? undefined : flags.gpu === 'auto' ? 'auto' : flags.gpu === 'false' || flags.gpu === '0' || flags.gpu === 'off' ? false : flags.gpu === 'true' || flags.gpu === 'on' ? true : { layers: int('gpu', flags.gpu, -1)! };
  return {
    model: flags.model ?? DEFAULT_MODEL,
    mmproj: flags.mmproj,
    contextSize: int('ctx', flags.ctx, 16),
    threads: int('threads', flags.threads, 1),
    gpu,
    memoryLimit: flags.memoryLimit === undefined ? undefined : parseBytes(flags.memoryLimit, '--memory-limit'),
    ...(flags.lora?.length ? { lora: flags.lora.map(loraFlag) } : {}),
    ...(flags.rpc?.length ? { rpc: rpcFlag(flags.rpc) } : {}),
  };
}

/** `--rpc host:port[,host:port]` (repeatable): the endpoints, or a usage error naming the bad one. */
export function rpcFlag(values: readonly string[]): string[] {
  try {
    return parseRpcFlag(values);
  } catch (err) {
    throw new UsageError(`--rpc: ${(err as Error).message}`);
  }
}

/** `--lora path[:scale]`: a trailing `:<number>` is the scale (so `C:\x.gguf` stays a path). */
export function loraFlag(value: string): LoraOptions {
  const m = /^(.+):([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)$/i.exec(value);
  if (!m) return { path: value };
  return { path: m[1], scale: num('lora', m[2], -100, 100)! };
}

/** Loads the model the flags name, downloading it first when needed. */
export function open(flags: CommonFlags): Promise<SmolVLM> {
  return withDownloads(flags, (hub) => loadModel({ ...loadOptions(flags), hub }));
}

/** The sampling and image options of the flags. */
export function sampling(flags: CommonFlags): SamplingOptions {
  return {
    temperature: num('temp', flags.temp, 0, 100),
    maxTokens: int('max-tokens', flags.maxTokens, 1) ?? CLI_DEFAULTS.maxTokens,
    seed: int('seed', flags.seed, 0),
    image: { longestEdge: int('longest-edge', flags.longestEdge, 1), ...(flags.tiling === false ? { tiling: false } : {}) },
  };
}

/** Resolution flags of the commands that take images. */
export function withImageFlags(cmd: Command): Command {
  return cmd
    .option('--longest-edge <px>', 'scale images to this longest side before tiling: fewer tiles, fewer tokens (default: the model\'s)')
    .option('--no-tiling', 'encode each image as one tile (its overview): fastest, least detail');
}

/** The flags of every command that loads a model. */
export function withCommon(cmd: Command): Command {
  return cmd
    .option('-m, --model <name|repo[:quant]|path>', `model: a known name, a hub repo or a .gguf path (default ${DEFAULT_MODEL})`)
    .option('--mmproj <path>', 'projector .gguf (implied for known names and hub repos)')
    .option('--ctx <tokens>', `context size (default ${DEFAULTS.contextSize})`)
    .option('--gpu <auto|false|true|layers>', `GPU offload (default ${DEFAULTS.gpu}: the layers that fit, projector included)`)
    .option('--gpu-memory <size>', "fit the layers into this much memory per GPU, e.g. '2GB'")
    .option('--threads <n>', 'CPU threads (default: all cores)')
    .option('--temp <t>', `temperature, 0 = greedy (default ${DEFAULTS.temperature})`)
    .option('--max-tokens <n>', `tokens to generate at most (default ${CLI_DEFAULTS.maxTokens})`)
    .option('--seed <n>', 'sampling seed')
    .option('--memory-limit <size>', "memory budget, e.g. '1.5GB': the context shrinks to fit or loading fails")
    .option('--lora <path[:scale]>', 'apply a LoRA adapter (.gguf) at this scale (default 1); repeatable', (v: string, prev: string[] = []) => [...prev, v])
    .option('--rpc <host:port[,host:port]>', "put the layers on llama.cpp rpc-servers (unauthenticated: private networks only); repeatable", (v: string, prev: string[] = []) => [...prev, v])
    .option('--offline', 'use the local model cache only (also HF_HUB_OFFLINE=1)')
    .option('-q, --quiet', 'no progress output')
    .option('-v, --verbose', "llama.cpp's log on stderr, stack traces on errors");
}

/** llama.cpp's log on stderr with --verbose only. */
export function setup(flags: CommonFlags): void {
  setLogLevel(flags.verbose ? 'info' : 'none');
}
