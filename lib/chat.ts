/** Chat messages -> one prompt with the model's chat template and a media marker per image. */
import type { ImageInput, ImageResolution } from './images.js';
import type { VideoPart } from './video.js';
import { invalid } from './errors.js';

export interface TextPart {
  type: 'text';
  text: string;
}
export interface ImagePart extends ImageResolution {
  type: 'image';
  image: ImageInput;
}
export type ContentPart = TextPart | ImagePart | VideoPart;

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  /** A string, or text and image parts in any order. */
  content: string | ContentPart[];
}

export interface FlatConversation {
  messages: { role: string; content: string }[];
  /** In prompt order, with each part's own resolution settings. */
  images: ImagePart[];
}

/** Replaces each image part by `marker`, in order, and checks the shape of every message. */
export function flattenMessages(messages: ChatMessage[], marker: string): FlatConversation {
  if (!Array.isArray(messages) || messages.length === 0) throw invalid('messages must be a non-empty array');
  const images: ImagePart[] = [];
  const flat = messages.map((m, i) => {
    if (!m || typeof m !== 'object') throw invalid(`messages[${i}] must be an object`);
    if (!['system', 'user', 'assistant'].includes(m.role)) throw invalid(`messages[${i}].role must be system, user or assistant`);
    const parts: ContentPart[] = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
    if (!Array.isArray(parts)) throw invalid(`messages[${i}].content must be a string or an array of parts`);
    let content = '';
    parts.forEach((p, j) => {
      if (p?.type === 'text') {
        if (typeof p.text !== 'string') throw invalid(`messages[${i}].content[${j}].text must be a string`);
        if (p.text.includes(marker)) throw invalid(`messages[${i}].content[${j}].text contains the media marker ${marker}`);
        content += p.text;
      } else if (p?.type === 'image') {
        if (p.image === undefined || p.image === null) throw invalid(`messages[${i}].content[${j}].image is missing`);
        images.push(p);
        content += marker;
      } else if (p?.type === 'video') {
        throw invalid(`messages[${i}].content[${j}]: video parts are expanded before flattening`);
      } else {
        throw invalid(`messages[${i}].content[${j}].type must be 'text', 'image' or 'video'`);
      }
    });
    return { role: m.role, content };
  });
  if (flat.every((m) => m.content.length === 0)) throw invalid('messages have no content');
  return { messages: flat, images };
}

/** Messages with every video part replaced by its frames and timestamps (see video.ts). */
export async function expandVideos(
  messages: ChatMessage[],
  options: { untiledFrames?: boolean } = {},
): Promise<{ messages: ChatMessage[]; cleanup: () => Promise<void> }> {
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    await Promise.all(cleanups.map((c) => c()));
  };
  if (!Array.isArray(messages) || !messages.some((m) => Array.isArray(m?.content) && m.content.some((p) => p?.type === 'video'))) {
    return { messages, cleanup };
  }
  const { expandVideo } = await import('./video.js');
  try {
    const out: ChatMessage[] = [];
    for (const m of messages) {
      if (!Array.isArray(m.content)) {
        out.push(m);
        continue;
      }
      const content: ContentPart[] = [];
      for (const p of m.content) {
        if (p?.type !== 'video') {
          content.push(p);
          continue;
        }
        const v = await expandVideo(p, options);
        cleanups.push(v.cleanup);
        content.push(...v.parts);
      }
      out.push({ ...m, content });
    }
    return { messages: out, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
