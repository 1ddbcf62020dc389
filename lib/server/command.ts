/**
 * `smolvlm serve`: resolve (download) the model, listen, load, print the URL and a ready line,
 * and shut down cleanly on SIGTERM/SIGINT (stop accepting, let in-flight requests finish within
 * the grace period, dispose the model, resolve: the process exits 0). A second signal aborts what
 * is still running at once. The CLI parses its flags with commander and calls {@link serveCommand}.
 */
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { invalid } from '../errors.js';
import { parseBytes } from '../memory.js';
import { loadModel } from '../load.js';
import type { SmolVLM } from '../model.js';
import type { LoadModelOptions } from '../types.js';
import { resolveModelFiles } from '../registry.js';
import { readApiKeyFile } from './auth.js';
import type { CreateServerOptions } from './index.js';

/** The flags of `smolvlm serve`, as commander gives them (strings). */
export interface ServeFlags {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: string | number;
  /** Requests decoded together. Default 4. */
  parallel?: string | number;
  /** Each slot its own `contextSize / parallel` KV cells (`kvUnified: false`), as `llama-server --parallel`. */
  kvPerSlot?: boolean;
  apiKey?: string;
  /** A file with one key per line. */
  apiKeyFile?: string;
  /** Allowed CORS origin (`*` for any). */
  cors?: string;
  /** Fetch http(s) image URLs from public hosts. */
  allowRemoteImages?: boolean;
  /** Default 20MB. */
  maxBody?: string;
  /** Default 16. */
  maxImages?: string | number;
  /** Default 64. */
  maxQueue?: string | number;
  lookahead?: string | number;
  /** Per request, e.g. `600s`, `10m`. Default 600s. */
  timeout?: string;
  /** Time in-flight requests get on shutdown. Default 30s. */
  grace?: string;
  /** Serve /metrics. */
  metrics?: boolean;
  /** The model id clients name. Default: the model reference's name. */
  modelId?: string;
}

/**
 * Adds the flags of {@link ServeFlags} to a commander command (the CLI adds the load flags of
 * `describe` itself), so that `.action((flags) => serveCommand(flags, loadOptions(flags)))`.
 */
export function addServeOptions(cmd: Command): Command {
  return cmd
    .option('--host <address>', 'interface to listen on; 0.0.0.0 exposes the server (default 127.0.0.1)')
    .option('--port <n>', 'port; 0 picks a free one (default 8080)')
    .option('--parallel <n>', 'requests decoded together (default 4)')
    .option('--kv-per-slot', "each slot gets its own ctx / parallel KV cells (as llama-server --parallel): faster with many concurrent requests; a prompt may use only its slot's share")
    .option('--api-key <key>', 'require this key (Authorization: Bearer or x-api-key) on every route but /health')
    .option('--api-key-file <file>', 'require one of the keys in this file, one per line')
    .option('--cors <origins>', "allowed CORS origins, comma-separated, or '*'")
    .option('--allow-remote-images', 'fetch http(s) image URLs from public hosts (never loopback or private addresses)')
    .option('--max-body <size>', 'largest request body (default 20MB)')
    .option('--max-images <n>', 'images per request (default 16)')
    .option('--max-queue <n>', 'requests queued beyond the slots before 429 (default 64)')
    .option('--lookahead <n>', 'queued requests handed to the library ahead of a free slot, their images decoded (default: --parallel)')
    .option('--timeout <duration>', 'per request, queueing included (default 600s)')
    .option('--grace <duration>', 'on SIGTERM/SIGINT, time for requests in flight (default 30s)')
    .option('--metrics', 'serve /metrics (Prometheus)')
    .option('--model-id <id>', 'the model id clients name (default: the model reference)');
}

/** Where the command writes and which signals it handles (tests replace them). */
export interface ServeIO {
  out?: (line: string) => void;
  err?: (line: string) => void;
  signals?: NodeJS.Signals[];
}

function count(name: string, v: string | number | undefined, min: number, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw invalid(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

/** `600`, `600s`, `10m`, `1h`, `500ms` -> milliseconds (a bare number is seconds). */
export function parseDuration(value: string, name: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(value);
  if (!m) throw invalid(`--${name} must be a duration like 600s, 10m or 500ms, got '${value}'`);
  const ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's').toLowerCase() as 'ms']!;
  if (!(ms >= 1)) throw invalid(`--${name} must be at least 1 ms`);
  return Math.round(ms);
}

/** The model id for a model reference: a known name or repo as given, a file's base name without .gguf. */
function idFor(ref: string): string {
  const base = ref.split(/[\\/]/).pop() ?? ref;
  return /\.gguf$/i.test(ref) ? base.replace(/\.gguf$/i, '') : ref;
}

function urlOf(address: string | { address: string; port: number; family: string } | null): string {
  if (!address || typeof address === 'string') return String(address);
  const host = address.family === 'IPv6' || isIP(address.address) === 6 ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Server options from the flags (validated before anything loads). */
export async function serverOptions(flags: ServeFlags): Promise<CreateServerOptions & { host: string; port: number }> {
  const port = count('port', flags.port, 0, 8080);
  if (port > 65535) throw invalid(`--port must be at most 65535, got ${port}`);
  const keys = [...(flags.apiKey ? [flags.apiKey] : []), ...(flags.apiKeyFile ? await readApiKeyFile(flags.apiKeyFile) : [])];
  return {
    host: flags.host ?? '127.0.0.1',
    port,
    ...(keys.length > 0 ? { apiKey: keys } : {}),
    ...(flags.cors ? { cors: flags.cors === '*' ? true : flags.cors.split(',').map((s) => s.trim()) } : {}),
    remoteImages: flags.allowRemoteImages ? 'public' : false,
    maxBodyBytes: flags.maxBody === undefined ? undefined : parseBytes(flags.maxBody, '--max-body'),
    maxImages: count('max-images', flags.maxImages, 0, 16),
    maxQueue: count('max-queue', flags.maxQueue, 0, 64),
    ...(flags.lookahead === undefined ? {} : { lookahead: count('lookahead', flags.lookahead, 0, 0) }),
    timeoutMs: flags.timeout === undefined ? undefined : parseDuration(flags.timeout, 'timeout'),
    shutdownGraceMs: flags.grace === undefined ? undefined : parseDuration(flags.grace, 'grace'),
    metrics: flags.metrics === true,
    modelId: flags.modelId,
  };
}

/**
 * Runs `smolvlm serve` until SIGTERM or SIGINT, then shuts down and resolves (the caller exits
 * 0). `load` holds the load options the CLI parsed (model, projector, context, GPU, threads, hub
 * settings with download progress); `--parallel` sets its `parallel`.
 * @throws InvalidArgumentError for bad flags, the load's typed error when the model cannot load
 */
export async function serveCommand(flags: ServeFlags, load: LoadModelOptions, io: ServeIO = {}): Promise<void> {
  const out = io.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = io.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const options = await serverOptions(flags);
  const parallel = count('parallel', flags.parallel, 1, load.parallel ?? 4);
  const { host, port, ...serverOpts } = options;
  if (!options.apiKey && !['127.0.0.1', 'localhost', '::1'].includes(host)) {
    err(`warning: listening on ${host} without an API key: anyone who can reach it can use it (--api-key or --api-key-file)`);
  }

  const loading = new AbortController();
  let stopping: Promise<void> | undefined;
  let vlm: SmolVLM | undefined;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const signals = io.signals ?? ['SIGTERM', 'SIGINT'];
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      err(`${signal} again: aborting the requests in flight`);
      void vlm?.dispose();
      return;
    }
    err(`${signal}: shutting down (in-flight requests get ${Math.round((serverOpts.shutdownGraceMs ?? 30_000) / 1000)} s)`);
    loading.abort();
    stop();
    stopping = Promise.resolve();
  };
  for (const s of signals) process.on(s, onSignal);
  try {
    // download first (with the CLI's progress), so that a slow download happens before listening
    const files = await resolveModelFiles(load.model, load.mmproj, { signal: loading.signal, ...load.hub });
    const modelPromise = loadModel({
      ...load, model: files.model, mmproj: files.mmproj, parallel, ...(flags.kvPerSlot ? { kvUnified: false } : {}), signal: loading.signal,
    });
    modelPromise.catch(() => {}); // observed below; /health reports it meanwhile
    const { createServer } = await import('./index.js');
    const app = createServer(modelPromise, { ...serverOpts, modelId: serverOpts.modelId ?? idFor(load.model) });
    try {
      await app.listen({ host, port });
      out(`listening on ${urlOf(app.server.address())}`);
      const result = await Promise.race([modelPromise.then((m) => ({ m })), stopped.then(() => undefined)]);
      if (result) {
        vlm = result.m;
        const i = vlm.info;
        out(`ready: ${options.modelId ?? idFor(load.model)} (${i.parallel} slots, context ${i.contextSize}${flags.kvPerSlot ? ` (${Math.floor(i.contextSize / i.parallel)} per slot)` : ''}, ${i.hasVision ? 'text and images' : 'text only'})`);
        await stopped;
      }
    } finally {
      await app.close();
      const model = vlm ?? (await modelPromise.catch(() => undefined));
      await model?.dispose();
    }
    err('stopped');
  } catch (e) {
    if (loading.signal.aborted && (e as { code?: string })?.code === 'ERR_ABORTED') {
      err('stopped');
      return;
    }
    throw e;
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}
