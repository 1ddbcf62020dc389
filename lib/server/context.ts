/**
 * The state one server's routes share: its options with defaults applied, the model (and whether
 * it is loading, ready, failed or shutting down), admission, metrics, the body parser, and the
 * generations in flight (so that shutdown can abort them after its grace period).
 */
import { invalid } from '../errors.js';
import type { SmolVLM } from '../model.js';
import type { ConnectTo, RemotePolicy, Resolver } from '../net/index.js';
import { ApiKeys } from './auth.js';
import { BodyParser } from './body.js';
import { HttpError } from './errors.js';
import { ServerMetrics } from './metrics.js';
import { Admission } from './queue.js';

/** Options of {@link createServer} and the server plugin. */
export interface ServerOptions {
  /** The id `/v1/models` lists and requests' `model` must name. Default: the model's name. */
  modelId?: string;
  /** Other names accepted in requests' `model`. */
  modelAliases?: string[];
  /** API keys; when set, every route but `/health` needs one (Bearer or x-api-key). */
  apiKey?: string | string[];
  /** CORS: allowed origin(s), or true for any. Default: no CORS headers. */
  cors?: string | string[] | boolean;
  /** Image URLs over http(s): `false` (default) refuses them, `'public'` fetches public hosts only, `'any'` every host (trusted clients only). */
  remoteImages?: RemotePolicy;
  /** Largest request body in bytes. Default 20 MB. */
  maxBodyBytes?: number;
  /** Images per request. Default 16. */
  maxImages?: number;
  /** Requests admitted beyond the model's parallel slots before answering 429. Default 64. */
  maxQueue?: number;
  /**
   * Admitted requests handed to the library beyond the slots: their images are decoded and they
   * wait in the engine's queue, ready for the next free slot; the rest wait in the server as
   * request bodies. Default: the slot count (`parallel`). Each handed-over request holds its
   * decoded images (width x height x 3 bytes each) until it ends, so a larger lookahead costs
   * memory; at 0 a freed slot waits for the next request's images to be decoded.
   */
  lookahead?: number;
  /** Time a generation request may take, queueing included, in ms. Default 600000. */
  timeoutMs?: number;
  /** Time to receive a whole request body, in ms (slow clients). Default 60000. */
  bodyTimeoutMs?: number;
  /** Serve `/metrics` (Prometheus text; behind the API key like every route but /health). Default false. */
  metrics?: boolean;
  /** On close: how long in-flight generations may still finish before they are aborted, in ms. Default 30000. */
  shutdownGraceMs?: number;
  /** Largest decoded image in pixels. Default 4096 x 4096. */
  maxImagePixels?: number;
  /** Largest remote image download in bytes. Default `maxBodyBytes`. */
  maxImageBytes?: number;
  /** Timeout of one remote image download in ms. Default 10000. */
  imageTimeoutMs?: number;
  /**
   * Tokens generated when a request names no max_tokens. Default: a request's share of the
   * context, `contextSize / parallel`. Every request's max_tokens is capped at that share too:
   * the library reserves prompt + max_tokens cells of the shared KV cache before it admits a
   * request, so one client asking for the whole context would run alone.
   */
  defaultMaxTokens?: number;
  /** Worker threads parsing large bodies. Default min(2, cores). */
  bodyThreads?: number;
  /** Remote image fetching details: name resolution (default `dns.lookup`), connectTo, redirects (default 5). */
  imageFetch?: { resolve?: Resolver; connectTo?: ConnectTo; maxRedirects?: number };
}

export type ServerStatus = 'loading' | 'ready' | 'failed' | 'closing';

function checkInt(name: string, v: number | undefined, min: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min)) throw invalid(`${name} must be an integer >= ${min}`);
}

export class ServerContext {
  readonly options: Required<Pick<ServerOptions, 'maxBodyBytes' | 'maxImages' | 'maxQueue' | 'timeoutMs' | 'shutdownGraceMs' | 'maxImagePixels' | 'imageTimeoutMs'>> & ServerOptions;
  readonly keys?: ApiKeys;
  readonly admission: Admission;
  readonly metrics?: ServerMetrics;
  readonly body: BodyParser;
  /** Abort controllers of the generations in flight. */
  readonly active = new Set<AbortController>();
  /** Each request's images decoded from its body (by request object). */
  readonly images = new WeakMap<object, Buffer[]>();
  status: ServerStatus = 'loading';
  model?: SmolVLM;
  loadError?: unknown;
  /** When the model became ready (ms since the epoch). */
  loadedAt?: number;
  readonly ready: Promise<void>;

  constructor(model: SmolVLM | Promise<SmolVLM>, options: ServerOptions) {
    if (!options || typeof options !== 'object') throw invalid('createServer: options must be an object');
    checkInt('maxBodyBytes', options.maxBodyBytes, 1);
    checkInt('maxImages', options.maxImages, 0);
    checkInt('maxQueue', options.maxQueue, 0);
    checkInt('lookahead', options.lookahead, 0);
    checkInt('timeoutMs', options.timeoutMs, 1);
    checkInt('bodyTimeoutMs', options.bodyTimeoutMs, 1);
    checkInt('shutdownGraceMs', options.shutdownGraceMs, 0);
    checkInt('maxImagePixels', options.maxImagePixels, 1);
    checkInt('maxImageBytes', options.maxImageBytes, 1);
    checkInt('imageTimeoutMs', options.imageTimeoutMs, 1);
    checkInt('defaultMaxTokens', options.defaultMaxTokens, 1);
    if (![undefined, false, 'public', 'any'].includes(options.remoteImages as never)) throw invalid("remoteImages must be false, 'public' or 'any'");
    this.options = {
      maxBodyBytes: 20_000_000,
      maxImages: 16,
      maxQueue: 64,
      timeoutMs: 600_000,
      shutdownGraceMs: 30_000,
      maxImagePixels: 4096 * 4096,
      imageTimeoutMs: 10_000,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    } as ServerContext['options'];
    const keys = options.apiKey === undefined ? [] : Array.isArray(options.apiKey) ? options.apiKey : [options.apiKey];
    if (keys.length > 0) this.keys = new ApiKeys(keys);
    this.admission = new Admission({ slots: 1, maxQueue: this.options.maxQueue, lookahead: this.options.lookahead });
    this.body = new BodyParser({ maxImages: this.options.maxImages, threads: options.bodyThreads });
    if (options.metrics === true) {
      this.metrics = new ServerMetrics({
        slots: () => this.admission.slots,
        busy: () => this.admission.busy,
        queued: () => this.admission.queued,
        imageCache: () => (this.model && !this.model.disposed ? this.model.imageCacheStats() : undefined),
      });
    }
    this.ready = Promise.resolve(model).then(
      (m) => {
        this.model = m;
        this.loadedAt = Date.now();
        this.admission.setSlots(m.info.parallel);
        if (this.status === 'loading') this.status = 'ready';
      },
      (err) => {
        this.loadError = err;
        if (this.status === 'loading') this.status = 'failed';
      },
    );
  }

  /** A request's share of the context: the cap on max_tokens. */
  maxTokensShare(model: SmolVLM): number {
    return Math.max(1, Math.floor(model.info.contextSize / model.info.parallel));
  }

  /** The id requests must name. */
  get modelId(): string {
    return this.options.modelId ?? (this.model?.info.name || 'smolvlm');
  }

  /** The model, or the 503 that says why there is none. */
  requireModel(): SmolVLM {
    if (this.status === 'ready' && this.model && !this.model.disposed) return this.model;
    if (this.status === 'loading') throw new HttpError(503, 'the model is loading', { code: 'model_loading', headers: { 'retry-after': '5' } });
    if (this.status === 'closing' || this.model?.disposed) throw new HttpError(503, 'the server is shutting down', { code: 'shutting_down' });
    throw new HttpError(503, `the model failed to load: ${(this.loadError as Error)?.message ?? 'unknown error'}`, { code: 'model_load_failed' });
  }

  /** @throws HttpError 404 when `name` is not the served model */
  checkModel(name: string | undefined): void {
    if (name === undefined || name === this.modelId || this.options.modelAliases?.includes(name)) return;
    throw new HttpError(404, `the model '${name}' does not exist: this server serves '${this.modelId}'`, { param: 'model', code: 'model_not_found' });
  }
}
