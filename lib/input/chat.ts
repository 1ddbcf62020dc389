/**
 * Chat messages -> the messages the chat template renders, with a media marker where each image
 * part stands, and those image parts in prompt order. Every shape error of a message is found here.
 */
import { invalid } from '../errors.js';
import { checkedObject } from '../keys.js';
import { KNOWN_KEYS } from '../options.js';
import type { ChatMessage, ContentPart, ImagePart } from '../types.js';

const PART_KEYS: Record<string, readonly string[]> = { text: KNOWN_KEYS.textPart, image: KNOWN_KEYS.imagePart, video: KNOWN_KEYS.videoPart };

/**
 * Plain copies of the messages and their parts, read once: a getter that throws, or an unknown
 * key on a text, image or video part, is an InvalidArgumentError naming where (messages may carry
 * keys of their own, such as OpenAI's `name`; only `role` and `content` are read).
 */
export function checkedMessages(messages: ChatMessage[]): ChatMessage[] {
  if (!Array.isArray(messages)) return messages; // flattenMessages words the shape errors
  return messages.map((m, i) => {
    if (!m || typeof m !== 'object') return m;
    const where = `messages[${i}]`;
    const msg = checkedObject(m, Object.keys(m), where);
    if (!Array.isArray(msg.content)) return msg;
    msg.content = msg.content.map((p, j) => {
      if (!p || typeof p !== 'object') return p;
      const at = `${where}.content[${j}]`;
      const type = checkedObject(p, Object.keys(p), at).type;
      const known = typeof type === 'string' && Object.hasOwn(PART_KEYS, type) ? PART_KEYS[type] : undefined;
      return known ? checkedObject(p, known, at) : p;
    });
    return msg;
  });
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
