/**
 * Prometheus metrics of one server (prom-client, a registry of its own so that several servers in
 * a process do not share counters): requests by route and status, tokens, time to first token and
 * latency histograms, queue depth, busy slots, image-cache hits, and prom-client's process metrics.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GenerateResult, ImageCacheStats } from '../types.js';

/** What the gauges read when scraped. */
export interface MetricsSources {
  slots(): number;
  busy(): number;
  queued(): number;
  imageCache(): ImageCacheStats | undefined;
}

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class ServerMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'route' | 'status'>;
  readonly #promptTokens: Counter;
  readonly #imageTokens: Counter;
  readonly #completionTokens: Counter;
  readonly #encodeSeconds: Counter;
  readonly #ttft: Histogram<'route'>;
  readonly #latency: Histogram<'route'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    // The event-loop delay monitor samples every 100 ms, not prom-client's default 10: at 10 it
    // wakes the JS thread 100 times a second, about 6 ms of CPU a second on an idle server, and
    // each wake-up takes a core from a compute thread that ggml's barriers then wait on (measured:
    // 14 ms of CPU per request at 32 clients on a 2-core machine). Stalls that matter here (a
    // blocked loop) last longer than 100 ms. Node's histogram records whole intervals between
    // samples, so the nodejs_eventloop_lag_{min,mean,p50,p90,p99}_seconds gauges read 0.1 s on an
    // idle loop (0.01 s before); nodejs_eventloop_lag_seconds is measured apart (setImmediate).
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
    this.#requests = new Counter({ name: 'smolvlm_http_requests_total', help: 'HTTP requests by route and status code', labelNames: ['route', 'status'], registers });
    this.#promptTokens = new Counter({ name: 'smolvlm_prompt_tokens_total', help: 'Prompt tokens evaluated, image tokens included', registers });
    this.#imageTokens = new Counter({ name: 'smolvlm_image_tokens_total', help: 'Image tokens in prompts', registers });
    this.#completionTokens = new Counter({ name: 'smolvlm_completion_tokens_total', help: 'Tokens generated', registers });
    this.#encodeSeconds = new Counter({ name: 'smolvlm_image_encode_seconds_total', help: 'Time the image encoder ran for the generations (one encode at a time: busy seconds)', registers });
    this.#ttft = new Histogram({ name: 'smolvlm_time_to_first_token_seconds', help: 'From request arrival to the first generated token', labelNames: ['route'], buckets: TTFT_BUCKETS, registers });
    this.#latency = new Histogram({ name: 'smolvlm_request_duration_seconds', help: 'Generation requests, arrival to last byte', labelNames: ['route'], buckets: LATENCY_BUCKETS, registers });
    new Gauge({ name: 'smolvlm_slots', help: 'Sequences the model decodes in parallel', registers, collect() { this.set(sources.slots()); } });
    new Gauge({ name: 'smolvlm_slots_busy', help: 'Generation requests holding a slot', registers, collect() { this.set(sources.busy()); } });
    new Gauge({ name: 'smolvlm_queue_depth', help: 'Admitted generation requests waiting for a slot', registers, collect() { this.set(sources.queued()); } });
    const cacheCounter = (name: string, help: string, key: keyof ImageCacheStats) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          const stats = sources.imageCache();
          this.reset();
          if (stats) this.inc(stats[key]);
        },
      });
    cacheCounter('smolvlm_image_cache_hits_total', 'Images served from the encoded-image cache', 'hits');
    cacheCounter('smolvlm_image_cache_misses_total', 'Images that had to be encoded', 'misses');
  }

  /** One finished HTTP request. */
  request(route: string, status: number, seconds: number, generation: boolean): void {
    this.#requests.inc({ route, status: String(status) });
    if (generation) this.#latency.observe({ route }, seconds);
  }

  firstToken(route: string, seconds: number): void {
    this.#ttft.observe({ route }, seconds);
  }

  /** Token counts of a finished (or aborted) generation. */
  usage(result: GenerateResult): void {
    this.#promptTokens.inc(result.usage.promptTokens);
    this.#imageTokens.inc(result.usage.imageTokens);
    this.#completionTokens.inc(result.usage.completionTokens);
    this.#encodeSeconds.inc(result.timings.imageEncodeMs / 1000);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
