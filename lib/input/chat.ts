/**
 * Chat messages -> the messages the chat template renders, with a media marker where each image
 * part stands, and those image parts in prompt order. Every shape error of a message is found here.
 */
import { invalid } from '../errors.js';
import type { ChatMessage, ContentPart, ImagePart } from '../types.js';

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
