/**
 * Request body parsing, the part that runs in a worker thread for large bodies: the JSON text is
 * parsed (prototype-poisoning safe), and every `data:` image URL in chat messages is decoded to
 * bytes and replaced in the JSON by a short reference (`imageRef`), so what goes back to the main
 * thread is a small object plus the decoded image buffers (transferred, not copied).
 */
import { isAscii } from 'node:buffer';
import sjson from 'secure-json-parse';

/** A parse failure with the HTTP status and OpenAI code it becomes. */
export interface BodyFailure {
  status: number;
  code: string;
  message: string;
  param?: string;
}

export interface ParsedBody {
  json: unknown;
  /** Decoded `data:` images, in the order of their references. */
  images: Uint8Array[];
}

export interface ParseSettings {
  /** Image parts allowed per request (data and remote together). */
  maxImages: number;
  /** Secret part of image references: a client cannot forge one. */
  nonce: string;
}

const REF = 'smolvlm-image-ref:';

/** The reference that stands for decoded image `index` in a parsed body. */
export function imageRef(nonce: string, index: number): string {
  return `${REF}${nonce}:${index}`;
}

/** The index an image reference stands for, or undefined when `url` is not one of ours. */
export function refIndex(url: string, nonce: string): number | undefined {
  const prefix = `${REF}${nonce}:`;
  if (!url.startsWith(prefix)) return undefined;
  const n = Number(url.slice(prefix.length));
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

class Failure extends Error {
  constructor(readonly failure: BodyFailure) {
    super(failure.message);
  }
}

/** A buffer that owns its whole ArrayBuffer (small base64 decodes come from Buffer's shared pool). */
function owned(buf: Buffer): Uint8Array {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) return buf;
  return new Uint8Array(buf);
}

function decodeDataUrl(url: string, param: string): Uint8Array {
  const comma = url.indexOf(',');
  if (comma < 0) throw new Failure({ status: 400, code: 'invalid_image_url', message: `${param}: malformed data: URL`, param });
  const meta = url.slice(5, comma).toLowerCase();
  const mime = meta.split(';')[0].trim();
  if (mime && !mime.startsWith('image/') && mime !== 'application/octet-stream') {
    throw new Failure({ status: 400, code: 'invalid_image_url', message: `${param}: a data: URL of type ${mime} is not an image`, param });
  }
  const payload = url.slice(comma + 1);
  let bytes: Buffer;
  if (meta.split(';').includes('base64')) bytes = Buffer.from(payload, 'base64');
  else {
    try {
      bytes = Buffer.from(decodeURIComponent(payload), 'latin1');
    } catch {
      throw new Failure({ status: 400, code: 'invalid_image_url', message: `${param}: malformed data: URL`, param });
    }
  }
  if (bytes.byteLength === 0) throw new Failure({ status: 400, code: 'invalid_image_url', message: `${param}: the data: URL holds no bytes`, param });
  return owned(bytes);
}

/**
 * Parses a JSON request body and decodes its `data:` images. Returns a failure instead of throwing,
 * so that it crosses a worker boundary as plain data.
 */
export function parseBody(body: Uint8Array, settings: ParseSettings): ParsedBody | { failure: BodyFailure } {
  try {
    const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    // ASCII (every body whose images are base64) decodes as latin1: the same text, copied instead
    // of decoded. A UTF-8 byte order mark is dropped, as JSON.parse would refuse it.
    let text = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim().length === 0) return { failure: { status: 400, code: 'empty_body', message: 'the request body is empty' } };
    let json: unknown;
    try {
      // JSON.parse, then the parsed object scanned for __proto__ and constructor.prototype keys:
      // secure-json-parse's own parse() also runs two regular expressions over the whole text
      // (after JSON.parse, to decide whether to scan), which for a body of base64 cost more than
      // the scan of the small parsed object
      json = JSON.parse(text);
      if (json !== null && typeof json === 'object') sjson.scan(json, { protoAction: 'error', constructorAction: 'error' });
    } catch (err) {
      return { failure: { status: 400, code: 'invalid_json', message: `the request body is not valid JSON: ${(err as Error).message}` } };
    }
    const images: Uint8Array[] = [];
    const messages = (json as { messages?: unknown })?.messages;
    if (!Array.isArray(messages)) return { json, images };
    let count = 0;
    messages.forEach((m, i) => {
      const content = (m as { content?: unknown })?.content;
      if (!Array.isArray(content)) return;
      content.forEach((part, j) => {
        if ((part as { type?: unknown })?.type !== 'image_url') return;
        if (++count > settings.maxImages) {
          throw new Failure({ status: 400, code: 'too_many_images', message: `a request may hold at most ${settings.maxImages} images`, param: 'messages' });
        }
        const holder = part as { image_url?: unknown };
        const slot = holder.image_url;
        const url = typeof slot === 'string' ? slot : (slot as { url?: unknown })?.url;
        if (typeof url !== 'string' || !/^data:/i.test(url)) return;
        const param = `messages[${i}].content[${j}].image_url`;
        const ref = imageRef(settings.nonce, images.length);
        images.push(decodeDataUrl(url, param));
        if (typeof slot === 'string') holder.image_url = ref;
        else (slot as { url: string }).url = ref;
      });
    });
    return { json, images };
  } catch (err) {
    if (err instanceof Failure) return { failure: err.failure };
    throw err;
  }
}
