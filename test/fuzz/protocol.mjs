// The child -> parent protocol: one JSON object per marker line on stdout.
//
// Markers: { t: 'case', name, kind, expect, codes?, timeoutMs? } once the case is generated;
// { t: 'phase', phase } when it enters a phase (load, generate, ...); { t: 'done', settled,
// error?, extra?, lastPhase, ms, maxRssMB } once it settled. Written with writeSync: on Linux a
// pipe write is complete when it returns, so a crash right after loses nothing.

import { writeSync } from 'node:fs';

const PREFIX = '\u0001smolvlm-fuzz ';

export function mark(obj) {
  writeSync(1, `${PREFIX}${JSON.stringify(obj)}\n`);
}

/** The markers in a chunk of stdout text, and the other lines (the case's own output). */
export function parseMarkers(text) {
  const markers = [];
  const other = [];
  for (const line of text.split('\n')) {
    const at = line.indexOf(PREFIX);
    if (at < 0) {
      if (line) other.push(line);
      continue;
    }
    if (at > 0) other.push(line.slice(0, at));
    try {
      markers.push(JSON.parse(line.slice(at + PREFIX.length)));
    } catch {
      other.push(line);
    }
  }
  return { markers, other };
}
