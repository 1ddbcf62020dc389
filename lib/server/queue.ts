/**
 * Admission control for generation requests. A request is admitted before its body is read; at
 * most `slots + maxQueue` are admitted at once (the model's parallel slots plus the queue), and
 * the next one gets a 429 with Retry-After: memory is bounded by that many bodies. Admitted
 * requests are handed to the library at most `slots + lookahead` at a time (the library decodes
 * their images and queues them natively); the rest wait here in arrival order, as bytes, not as
 * decoded images. Every wait is abortable.
 */
import { HttpError } from './errors.js';

/** An admitted request's hold on the queue. */
export interface Ticket {
  /** Resolves when the request may start generating; rejects with `signal`'s reason on abort. */
  turn(signal: AbortSignal): Promise<void>;
  /** Gives the place back (idempotent). */
  release(): void;
}

export interface AdmissionOptions {
  slots: number;
  maxQueue: number;
  /** Requests handed to the library beyond the slots. Default `slots`. */
  lookahead?: number;
  /** Seconds a rejected client is told to wait. Default 1. */
  retryAfter?: number;
}

export class Admission {
  #slots: number;
  readonly #maxQueue: number;
  readonly #lookaheadOption?: number;
  readonly #retryAfter: number;
  #admitted = 0;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(options: AdmissionOptions) {
    this.#slots = options.slots;
    this.#maxQueue = options.maxQueue;
    this.#lookaheadOption = options.lookahead;
    this.#retryAfter = options.retryAfter ?? 1;
  }

  /** Sets the slot count once the model is known. */
  setSlots(slots: number): void {
    this.#slots = slots;
    this.#pump();
  }

  /** Requests running in the library at most. */
  get #limit(): number {
    return this.#slots + (this.#lookaheadOption ?? this.#slots);
  }

  get slots(): number {
    return this.#slots;
  }
  /** Admitted requests (running or waiting). */
  get admitted(): number {
    return this.#admitted;
  }
  /** Requests that hold a slot. */
  get busy(): number {
    return Math.min(this.#running, this.#slots);
  }
  /** Admitted requests not in a slot (waiting here or in the library's queue). */
  get queued(): number {
    return this.#admitted - this.busy;
  }

  /** Admits a request. @throws HttpError 429 when slots and queue are full */
  admit(): Ticket {
    if (this.#admitted >= this.#slots + this.#maxQueue) {
      throw new HttpError(429, `the server is busy: ${this.#slots} requests running and ${this.#maxQueue} queued; retry later`, {
        code: 'queue_full',
        headers: { 'retry-after': String(this.#retryAfter) },
      });
    }
    this.#admitted++;
    let state: 'admitted' | 'waiting' | 'running' | 'released' = 'admitted';
    let wake: (() => void) | undefined;
    return {
      turn: (signal) => {
        if (state !== 'admitted') return Promise.reject(new Error('turn() called twice'));
        if (signal.aborted) return Promise.reject(signal.reason);
        if (this.#running < this.#limit && this.#waiting.length === 0) {
          state = 'running';
          this.#running++;
          return Promise.resolve();
        }
        state = 'waiting';
        return new Promise<void>((resolve, reject) => {
          const onAbort = () => {
            const i = this.#waiting.indexOf(wake!);
            if (i >= 0) this.#waiting.splice(i, 1);
            reject(signal.reason);
          };
          wake = () => {
            signal.removeEventListener('abort', onAbort);
            state = 'running';
            this.#running++;
            resolve();
          };
          this.#waiting.push(wake);
          signal.addEventListener('abort', onAbort, { once: true });
        });
      },
      release: () => {
        if (state === 'released') return;
        if (state === 'waiting') {
          const i = this.#waiting.indexOf(wake!);
          if (i >= 0) this.#waiting.splice(i, 1);
        }
        if (state === 'running') this.#running--;
        state = 'released';
        this.#admitted--;
        this.#pump();
      },
    };
  }

  #pump(): void {
    while (this.#waiting.length > 0 && this.#running < this.#limit) this.#waiting.shift()!();
  }
}
