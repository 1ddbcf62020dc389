/**
 * Worker-thread entry of the body parser pool (body.ts): parses one body (body-parse.ts) and
 * transfers the decoded images back instead of copying them.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { parseBody, type ParseSettings } from './body-parse.js';

export interface BodyTask extends ParseSettings {
  body: Uint8Array;
}

export default function parse(task: BodyTask): unknown {
  const out = parseBody(task.body, task);
  if ('failure' in out) return out;
  const buffers = [...new Set(out.images.map((i) => i.buffer as ArrayBuffer))];
  return move({
    get [transferableSymbol]() {
      return buffers;
    },
    get [valueSymbol]() {
      return out;
    },
  });
}
