/**
 * The JSON body parser of the server's routes. Small bodies are parsed on the JS thread (cheaper
 * than a round trip); larger ones, which is where base64 images are, go to a small pool of worker
 * threads (piscina) that parses the JSON and decodes the images, and transfers the image buffers
 * back: a 20 MB body never blocks the event loop.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { parseBody, refIndex, type BodyFailure, type ParsedBody } from './body-parse.js';
import type { BodyTask } from './body-worker.js';
import { HttpError } from './errors.js';

export interface BodyParserOptions {
  /** Image parts per request. */
  maxImages: number;
  /** Worker threads at most. Default min(2, cores). */
  threads?: number;
  /** Bodies up to this many bytes are parsed on the JS thread. Default 64 KiB. */
  inlineBytes?: number;
}

function failed(f: BodyFailure): HttpError {
  return new HttpError(f.status, f.message, { code: f.code, param: f.param ?? null });
}

/** Parses request bodies, off the JS thread when they are large. */
export class BodyParser {
  readonly #nonce = randomUUID();
  readonly #maxImages: number;
  readonly #inlineBytes: number;
  readonly #threads: number;
  #pool?: Piscina;
  /** Bodies parsed in a worker (for tests and metrics). */
  offloaded = 0;

  constructor(options: BodyParserOptions) {
    this.#maxImages = options.maxImages;
    this.#inlineBytes = options.inlineBytes ?? 64 * 1024;
    this.#threads = Math.max(1, options.threads ?? Math.min(2, availableParallelism()));
  }

  #workers(): Piscina {
    this.#pool ??= new Piscina({
      filename: fileURLToPath(new URL('./body-worker.js', import.meta.url)),
      minThreads: 0,
      maxThreads: this.#threads,
      idleTimeout: 30_000,
      concurrentTasksPerWorker: 1,
    });
    return this.#pool;
  }

  /** Parses `body`. @throws HttpError 400 for invalid JSON, too many images, a bad data: URL */
  async parse(body: Buffer): Promise<{ json: unknown; images: Buffer[] }> {
    const settings = { maxImages: this.#maxImages, nonce: this.#nonce };
    let out: ParsedBody | { failure: BodyFailure };
    if (body.byteLength <= this.#inlineBytes) out = parseBody(body, settings);
    else {
      const owned = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? body : Buffer.from(body);
      const task: BodyTask = { body: owned, ...settings };
      this.offloaded++;
      out = (await this.#workers().run(task, { transferList: [owned.buffer as ArrayBuffer] })) as typeof out;
    }
    if ('failure' in out) throw failed(out.failure);
    return { json: out.json, images: out.images.map((i) => Buffer.from(i.buffer, i.byteOffset, i.byteLength)) };
  }

  /** The decoded image an `image_url` stands for after parsing, or undefined when it is not a reference. */
  imageIndex(url: string): number | undefined {
    return refIndex(url, this.#nonce);
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.destroy();
  }
}
