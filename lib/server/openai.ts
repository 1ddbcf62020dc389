/**
 * OpenAI's API on top of the library: request bodies -> a GenerateRequest (what is supported,
 * how each field maps, and a clear 400 for what is not), and results -> OpenAI's response and
 * stream chunk shapes (`chat.completion`, `chat.completion.chunk`, `text_completion`).
 *
 * Mapping: `max_completion_tokens` / `max_tokens` -> maxTokens (capped at a request's share of
 * the context, contextSize / parallel, which is also the default); `temperature` (OpenAI's default
 * 1) and `top_p` (default 1) -> the same; `seed` -> seed (mod 2^32); `stop` -> stop;
 * llama-server's `top_k`, `min_p`, `repeat_penalty`, `ignore_eos` -> the same. `frequency_penalty` and
 * `presence_penalty` other than 0 are refused (the sampler has a repeat penalty only, which is not
 * the same thing); `logprobs` gives the chosen token's log-probability, `top_logprobs` above 0 is
 * refused (the library does not return alternatives); `n` above 1, tools, audio and `logit_bias`
 * are refused. `response_format` `json_object` -> jsonSchema `{ type: 'object' }` (any JSON
 * object), `json_schema` -> jsonSchema its `json_schema.schema` (constrained decoding; not with
 * `stop` or `ignore_eos`). `image_url.detail: 'low'` encodes the image as one tile (`tiling: false`).
 * llama-server's `lora: [{ id, scale? }]` picks the adapters the server loaded (`--lora`) for this
 * request: `id` is the adapter's id (`info.lora[].id`) or its index in that list (llama-server's
 * numeric ids); adapters it does not list are off, `[]` is the base model; an id the server did not
 * load is a 400 `unknown_lora_adapter` (adapters are never loaded per request). Usage reports
 * `prompt_tokens_details.cached_tokens`: the prompt tokens reused from a slot's cache (`promptCache`).
 */
import { randomBytes } from 'node:crypto';
import type { ChatMessage, ContentPart, GenerateResult, ImagePart, JsonSchema, LoraInfo, LoraSelection, SamplingOptions } from '../types.js';
import { HttpError, invalidParam, unsupported } from './errors.js';

type Nullable<T> = T | null | undefined;

export interface ChatContentPart {
  type: string;
  text?: string;
  image_url?: string | { url: string; detail?: 'auto' | 'low' | 'high' };
}

interface SamplingBody {
  model?: string;
  stream?: Nullable<boolean>;
  stream_options?: Nullable<{ include_usage?: boolean }>;
  max_tokens?: Nullable<number>;
  temperature?: Nullable<number>;
  top_p?: Nullable<number>;
  top_k?: Nullable<number>;
  min_p?: Nullable<number>;
  repeat_penalty?: Nullable<number>;
  ignore_eos?: Nullable<boolean>;
  seed?: Nullable<number>;
  stop?: Nullable<string | string[]>;
  frequency_penalty?: Nullable<number>;
  presence_penalty?: Nullable<number>;
  n?: Nullable<number>;
  logit_bias?: Nullable<Record<string, unknown>>;
  /** llama-server's per-request adapters. */
  lora?: Nullable<{ id: string | number; scale?: number }[]>;
}

export interface ChatBody extends SamplingBody {
  messages: { role: string; content?: Nullable<string | ChatContentPart[]>; name?: string }[];
  max_completion_tokens?: Nullable<number>;
  logprobs?: Nullable<boolean>;
  top_logprobs?: Nullable<number>;
  response_format?: Nullable<{ type: string; json_schema?: { name?: string; schema?: unknown; strict?: boolean } }>;
  tools?: Nullable<unknown[]>;
  modalities?: Nullable<string[]>;
  audio?: unknown;
}

export interface CompletionBody extends SamplingBody {
  prompt: string | unknown[];
  logprobs?: Nullable<number>;
  echo?: Nullable<boolean>;
  suffix?: Nullable<string>;
  best_of?: Nullable<number>;
}

/** Where an image part's bytes come from: decoded from the body, or a URL to fetch. */
export type ImageSource = { kind: 'inline'; index: number } | { kind: 'remote'; url: string };

/** An image part of the mapped request, its `image` filled in once its bytes are at hand. */
export interface PendingImage {
  part: ImagePart;
  source: ImageSource;
}

/** What a route hands to the generation runner. */
export interface MappedRequest {
  sampling: SamplingOptions;
  stream: boolean;
  includeUsage: boolean;
  logprobs: boolean;
  messages?: ChatMessage[];
  prompt?: string;
  images: PendingImage[];
}

export interface MapContext {
  /** maxTokens when the request names none. */
  defaultMaxTokens: number;
  /** The most maxTokens may be (larger requests are capped: finish_reason 'length' says when it was reached). */
  maxTokensCap: number;
  /** The decoded-image index an `image_url` stands for (body.ts), or undefined. */
  imageIndex(url: string): number | undefined;
  /** The LoRA adapters the model was loaded with (`info.lora`), which requests may pick from. */
  loras: readonly LoraInfo[];
}

/** A body's `lora` -> the library's selection (by adapter id). @throws HttpError 400 */
function loraSelection(lora: NonNullable<SamplingBody['lora']>, loaded: readonly LoraInfo[]): LoraSelection[] {
  const names = loaded.length ? loaded.map((a, i) => `${i}: '${a.id}'`).join(', ') : 'none (start the server with --lora)';
  return lora.map((entry, i) => {
    const adapter = typeof entry.id === 'number' ? loaded[entry.id] : loaded.find((a) => a.id === entry.id);
    if (!adapter) {
      throw new HttpError(400, `lora[${i}].id ${JSON.stringify(entry.id)} is not an adapter this server loaded (loaded: ${names})`, {
        param: `lora[${i}].id`,
        code: 'unknown_lora_adapter',
      });
    }
    if (lora.slice(0, i).some((e) => (typeof e.id === 'number' ? loaded[e.id] : loaded.find((a) => a.id === e.id)) === adapter)) {
      throw invalidParam(`lora[${i}].id`, `lora[${i}]: adapter '${adapter.id}' is listed twice`);
    }
    return entry.scale === undefined ? { id: adapter.id } : { id: adapter.id, scale: entry.scale };
  });
}

/** Checks the fields both endpoints share and maps them to sampling options. */
function mapSampling(body: SamplingBody, maxTokens: Nullable<number>, ctx: MapContext): SamplingOptions {
  if ((body.n ?? 1) !== 1) throw unsupported('n', 'n must be 1: one choice per request (send several requests for more)');
  for (const p of ['frequency_penalty', 'presence_penalty'] as const) {
    if ((body[p] ?? 0) !== 0) {
      throw unsupported(p, `${p} is not supported: the sampler has a repeat penalty only (send repeat_penalty, e.g. 1.1, instead)`);
    }
  }
  if (body.logit_bias && Object.keys(body.logit_bias).length > 0) throw unsupported('logit_bias', 'logit_bias is not supported');
  const stop = body.stop === undefined || body.stop === null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop;
  if (stop?.some((s) => s.length === 0)) throw invalidParam('stop', 'stop strings must not be empty');
  const out: SamplingOptions = {
    maxTokens: Math.min(maxTokens ?? ctx.defaultMaxTokens, ctx.maxTokensCap),
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
  };
  if (body.top_k !== undefined && body.top_k !== null) out.topK = body.top_k;
  if (body.min_p !== undefined && body.min_p !== null) out.minP = body.min_p;
  if (body.repeat_penalty !== undefined && body.repeat_penalty !== null) out.repeatPenalty = body.repeat_penalty;
  if (body.ignore_eos === true) out.ignoreEos = true;
  if (body.seed !== undefined && body.seed !== null) out.seed = ((body.seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
  if (stop && stop.length > 0) out.stop = stop;
  if (body.lora !== undefined && body.lora !== null) out.lora = loraSelection(body.lora, ctx.loras);
  return out;
}

function imageSource(url: string, param: string, ctx: MapContext): ImageSource {
  const index = ctx.imageIndex(url);
  if (index !== undefined) return { kind: 'inline', index };
  if (/^https?:\/\//i.test(url)) return { kind: 'remote', url };
  throw invalidParam(param, `${param}: an image URL must be a data: URL with base64 bytes or an http(s) URL`);
}

const ROLES: Record<string, ChatMessage['role']> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant' };

/** `response_format` -> the JSON Schema that constrains the answer, or undefined for text. @throws HttpError 400 */
function responseSchema(body: ChatBody): JsonSchema | undefined {
  const format = body.response_format;
  if (format === undefined || format === null || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'object' };
  if (format.type === 'json_schema') {
    const schema = format.json_schema?.schema;
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
      throw invalidParam('response_format.json_schema.schema', 'response_format.json_schema.schema must be a JSON Schema object');
    }
    return schema as JsonSchema;
  }
  throw invalidParam('response_format', `response_format.type must be 'text', 'json_object' or 'json_schema'`);
}

/** Maps a `/v1/chat/completions` body. @throws HttpError 400 */
export function mapChat(body: ChatBody, ctx: MapContext): MappedRequest {
  if ((body.top_logprobs ?? 0) > 0) {
    throw unsupported('top_logprobs', 'top_logprobs is not supported: only the chosen token\'s log-probability is available (send logprobs: true with top_logprobs 0)');
  }
  const jsonSchema = responseSchema(body);
  if (Array.isArray(body.tools) && body.tools.length > 0) throw unsupported('tools', 'tools (function calling) are not supported');
  if (body.modalities?.some((m) => m !== 'text')) throw unsupported('modalities', 'only text output is supported');
  if (body.audio !== undefined && body.audio !== null) throw unsupported('audio', 'audio output is not supported');

  const images: PendingImage[] = [];
  const messages: ChatMessage[] = body.messages.map((m, i) => {
    const role = ROLES[m.role];
    if (!role) throw unsupported(`messages[${i}].role`, `messages[${i}].role '${m.role}' is not supported (system, developer, user or assistant)`);
    if (m.content === undefined || m.content === null) throw invalidParam(`messages[${i}].content`, `messages[${i}].content is missing`);
    if (typeof m.content === 'string') return { role, content: m.content };
    const content: ContentPart[] = m.content.map((p, j) => {
      const param = `messages[${i}].content[${j}]`;
      if (p.type === 'text') {
        if (typeof p.text !== 'string') throw invalidParam(`${param}.text`, `${param}.text must be a string`);
        return { type: 'text', text: p.text };
      }
      if (p.type === 'image_url') {
        if (p.image_url === undefined) throw invalidParam(`${param}.image_url`, `${param}.image_url is missing`);
        const url = typeof p.image_url === 'string' ? p.image_url : p.image_url.url;
        const detail = typeof p.image_url === 'string' ? undefined : p.image_url.detail;
        const part: ImagePart = { type: 'image', image: Buffer.alloc(0), ...(detail === 'low' ? { tiling: false } : {}) };
        images.push({ part, source: imageSource(url, `${param}.image_url`, ctx) });
        return part;
      }
      throw unsupported(`${param}.type`, `${param}.type '${p.type}' is not supported (text or image_url)`);
    });
    return { role, content };
  });
  const sampling = mapSampling(body, body.max_completion_tokens ?? body.max_tokens, ctx);
  if (jsonSchema) {
    if (sampling.stop) throw invalidParam('stop', 'stop cannot be combined with a JSON response_format: the schema decides where the output ends');
    if (sampling.ignoreEos) throw invalidParam('ignore_eos', 'ignore_eos cannot be combined with a JSON response_format: the schema decides where the output ends');
    sampling.jsonSchema = jsonSchema;
  }
  return {
    sampling,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    logprobs: body.logprobs === true,
    messages,
    images,
  };
}

/** Maps a `/v1/completions` body (a raw prompt, text only). @throws HttpError 400 */
export function mapCompletion(body: CompletionBody, ctx: MapContext): MappedRequest {
  let prompt: string;
  if (typeof body.prompt === 'string') prompt = body.prompt;
  else if (body.prompt.length === 1 && typeof body.prompt[0] === 'string') prompt = body.prompt[0];
  else throw unsupported('prompt', 'prompt must be one string (token arrays and several prompts are not supported)');
  if (prompt.length === 0) throw invalidParam('prompt', 'prompt must not be empty');
  if (body.echo) throw unsupported('echo', 'echo is not supported');
  if (body.suffix) throw unsupported('suffix', 'suffix (insertion) is not supported');
  if ((body.best_of ?? 1) !== 1) throw unsupported('best_of', 'best_of must be 1');
  if ((body.logprobs ?? 0) > 0) throw unsupported('logprobs', 'logprobs above 0 is not supported: only the chosen token\'s log-probability is available (send logprobs: 0)');
  return {
    sampling: mapSampling(body, body.max_tokens, ctx),
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    logprobs: body.logprobs === 0,
    prompt,
    images: [],
  };
}

/** One generated token with its log-probability, as the response's logprobs list it. */
export interface TokenLogprob {
  token: string;
  logprob: number;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** image_tokens: the prompt's image embeddings; cached_tokens: prompt tokens reused from a slot's KV cache. */
  prompt_tokens_details: { image_tokens: number; cached_tokens: number };
}

export function usageOf(result: GenerateResult): Usage {
  return {
    prompt_tokens: result.usage.promptTokens,
    completion_tokens: result.usage.completionTokens,
    total_tokens: result.usage.totalTokens,
    prompt_tokens_details: { image_tokens: result.usage.imageTokens, cached_tokens: result.usage.cachedTokens },
  };
}

function finishReason(result: GenerateResult): 'stop' | 'length' {
  return result.finishReason === 'length' ? 'length' : 'stop';
}

function chatLogprobs(entries: TokenLogprob[] | undefined) {
  if (!entries) return null;
  return { content: entries.map((e) => ({ token: e.token, logprob: e.logprob, bytes: [...Buffer.from(e.token, 'utf8')], top_logprobs: [] })) };
}

function completionLogprobs(entries: TokenLogprob[] | undefined, start = 0) {
  if (!entries) return null;
  const offsets: number[] = [];
  let at = start;
  for (const e of entries) offsets.push(at), (at += e.token.length);
  return { tokens: entries.map((e) => e.token), token_logprobs: entries.map((e) => e.logprob), top_logprobs: null, text_offset: offsets };
}

/** Response and chunk shapes of one request: one id and creation time for all its chunks. */
export class Shapes {
  readonly id: string;
  readonly created = Math.floor(Date.now() / 1000);
  #textOffset = 0;

  constructor(
    readonly kind: 'chat' | 'completion',
    readonly model: string,
  ) {
    this.id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`;
  }

  #head(object: string) {
    return { id: this.id, object, created: this.created, model: this.model };
  }

  /** The whole (non-streamed) response. */
  full(result: GenerateResult, logprobs?: TokenLogprob[]): object {
    if (this.kind === 'chat') {
      return {
        ...this.#head('chat.completion'),
        choices: [{ index: 0, message: { role: 'assistant', content: result.text, refusal: null }, logprobs: chatLogprobs(logprobs), finish_reason: finishReason(result) }],
        usage: usageOf(result),
      };
    }
    return {
      ...this.#head('text_completion'),
      choices: [{ index: 0, text: result.text, logprobs: completionLogprobs(logprobs), finish_reason: finishReason(result) }],
      usage: usageOf(result),
    };
  }

  /** The chunk before any text (chat: the assistant role), or undefined. */
  start(includeUsage: boolean): object | undefined {
    if (this.kind !== 'chat') return undefined;
    return { ...this.#head('chat.completion.chunk'), choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], ...(includeUsage ? { usage: null } : {}) };
  }

  /** A chunk of text. */
  delta(text: string, includeUsage: boolean, logprobs?: TokenLogprob[]): object {
    const usage = includeUsage ? { usage: null } : {};
    if (this.kind === 'chat') {
      return { ...this.#head('chat.completion.chunk'), choices: [{ index: 0, delta: { content: text }, logprobs: chatLogprobs(logprobs), finish_reason: null }], ...usage };
    }
    const lp = completionLogprobs(logprobs, this.#textOffset);
    this.#textOffset += text.length;
    return { ...this.#head('text_completion'), choices: [{ index: 0, text, logprobs: lp, finish_reason: null }], ...usage };
  }

  /** The chunk with the finish reason. */
  finish(result: GenerateResult, includeUsage: boolean): object {
    const usage = includeUsage ? { usage: null } : {};
    if (this.kind === 'chat') {
      return { ...this.#head('chat.completion.chunk'), choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason(result) }], ...usage };
    }
    return { ...this.#head('text_completion'), choices: [{ index: 0, text: '', logprobs: null, finish_reason: finishReason(result) }], ...usage };
  }

  /** The last chunk when `stream_options.include_usage`: no choices, the usage. */
  usage(result: GenerateResult): object {
    return { ...this.#head(this.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion'), choices: [], usage: usageOf(result) };
  }
}
