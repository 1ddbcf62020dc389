// api: misuse of the public API on the tiny fixture: streams broken, iterated twice or never
// observed; thread counts; options of the wrong type or range (signal: {}, imageCache: null,
// getters that throw, unknown keys); token ids that are not ids; calls after dispose; many
// concurrent requests. Every case knows what a correct library does: a caller's mistake is
// refused with ERR_INVALID_ARGUMENT (or ERR_IMAGE_INVALID), and a case that resolves where it
// must be refused, or breaks a stated rule (k.note({ wrong })), is a 'wrong' outcome.
//
// The first CASES.length indexes of a seed visit the list once; later indexes draw a random
// sampling option with a hostile value.

import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { CALLER_CODES, MODEL_CODES } from '../kit.mjs';
import { listSlot } from '../prng.mjs';

const R = 'reject';
const OK = 'resolve';
const A = 'any';

const msg = (text = 'Say something.') => [{ role: 'user', content: text }];
const ask = (extra = {}) => ({ messages: msg(), maxTokens: 2, ...extra });
const show = (v) => (typeof v === 'string' ? `'${v}'` : typeof v === 'bigint' ? `${v}n` : Array.isArray(v) ? `[${v.map(show)}]` : String(v));
const throwing = (obj, key) => Object.defineProperty({ ...obj }, key, { get() { throw new Error(`getter ${key} throws`); }, enumerable: true });

/** Threads of this process (Linux), or undefined. */
const threadCount = () => {
  try {
    return readdirSync('/proc/self/task').length;
  } catch {
    return undefined;
  }
};

/**
 * A stream's result after its consumer left the loop: leaving early aborts the generation, and
 * `.result` rejects with the AbortError holding the partial result (README, stream()).
 */
const partial = (stream) => stream.result.catch((err) => {
  if (err?.code === 'ERR_ABORTED' && err.result) return err.result;
  throw err;
});

/** Collects a stream's text through one for-await loop. */
async function collect(stream) {
  let text = '';
  for await (const c of stream) text += c.text;
  return text;
}

/** with the tiny model: k.withModel with the fuzz defaults (plus `load`). */
const withTiny = (k, fn, load = {}) => k.withModel(load, async (vlm) => {
  k.phase('generate');
  return fn(vlm);
});

/** [name, expect, run(k), { codes }?] */
export const CASES = [
  // --- streams ---
  ['stream: break after the first chunk ends the generation', OK, (k) => withTiny(k, async (vlm) => {
    const s = vlm.stream(ask({ maxTokens: 64, ignoreEos: true }));
    for await (const c of s) { void c; break; }
    const r = await partial(s);
    if (r.usage.completionTokens >= 64) k.note({ wrong: `the generation ran on after break (${r.usage.completionTokens} tokens, finishReason ${r.finishReason})` });
    await vlm.generate(ask());
  })],
  ['stream: two for-await loops at once', OK, (k) => withTiny(k, async (vlm) => {
    const s = vlm.stream(ask({ maxTokens: 16, ignoreEos: true }));
    const both = await Promise.allSettled([collect(s), collect(s)]);
    const full = (await s.result).text;
    for (const b of both) if (b.status === 'rejected' && !(b.reason instanceof k.lib.SmolVLMError)) throw b.reason;
    const texts = both.filter((b) => b.status === 'fulfilled').map((b) => b.value);
    if (texts.some((t) => t !== full)) k.note({ wrong: `the iterators split the chunks: ${JSON.stringify(texts.map((t) => t.length))} of ${full.length} characters` });
  })],
  ['stream: a second for-await after the first finished', OK, (k) => withTiny(k, async (vlm) => {
    const s = vlm.stream(ask({ maxTokens: 8, ignoreEos: true }));
    const first = await collect(s);
    let second;
    try {
      second = await collect(s);
    } catch (err) {
      if (!(err instanceof k.lib.SmolVLMError)) throw err;
      return;
    }
    if (second !== first) k.note({ wrong: `the second iteration got ${second.length} characters of ${first.length}, silently` });
  })],
  ['stream: never iterated, result awaited', OK, (k) => withTiny(k, async (vlm) => {
    await vlm.stream(ask()).result;
  })],
  ['stream: a failure nobody observes', OK, (k) => withTiny(k, async (vlm) => {
    vlm.stream({ messages: [] });
    vlm.stream(ask({ maxTokens: -1 }));
    await new Promise((r) => setTimeout(r, 300)); // an unhandled rejection would end the process here
  })],
  ['stream: a failure observed through iteration', R, (k) => withTiny(k, (vlm) => collect(vlm.stream({ messages: [] })))],
  ['stream: iterator return() before next()', OK, (k) => withTiny(k, async (vlm) => {
    const s = vlm.stream(ask({ maxTokens: 64, ignoreEos: true }));
    await s[Symbol.asyncIterator]().return?.();
    await s.result.catch((err) => {
      if (err?.code !== 'ERR_ABORTED') throw err; // returned before the first chunk: aborted, maybe with no partial result yet
    });
  })],
  ['stream: break on a failing stream', R, (k) => withTiny(k, async (vlm) => {
    const s = vlm.stream({ messages: [{ role: 'robot', content: 'x' }] });
    for await (const c of s) { void c; break; }
    await s.result;
  })],
  ['stream: dispose while streaming', A, (k) => withTiny(k, async (vlm) => {
    const s = vlm.stream(ask({ maxTokens: 256, ignoreEos: true }));
    const it = s[Symbol.asyncIterator]();
    await it.next();
    await vlm.dispose();
    await collect({ [Symbol.asyncIterator]: () => it });
  }), { codes: ['ERR_DISPOSED', 'ERR_ABORTED'] }],
  ['stream: 20 streams broken at once, then a generation', OK, (k) => withTiny(k, async (vlm) => {
    const streams = Array.from({ length: 20 }, () => vlm.stream(ask({ maxTokens: 32, ignoreEos: true })));
    await Promise.all(streams.map(async (s) => { for await (const c of s) { void c; break; } }));
    await Promise.all(streams.map(partial));
    await vlm.generate(ask());
  }, { parallel: 4 })],
  // --- threads ---
  ['threads 1024: refused or bounded', A, async (k) => {
    // Counts the threads it starts and ends the process as soon as they pass the bound: a
    // thousand spinning threads would starve the machine for minutes.
    const bound = 4 * availableParallelism() + 64;
    const check = (when) => {
      const n = threadCount() ?? 0;
      if (n <= bound) return;
      k.note({ wrong: `threads: 1024 accepted and ${n} threads running ${when} (bound ${bound})` });
      k.finishNow();
    };
    let when = 'during loadModel';
    const timer = setInterval(() => check(when), 5);
    const vlm = await k.load({ threads: 1024, warmup: false }).catch((err) => {
      clearInterval(timer);
      throw err;
    });
    when = 'during generate';
    try {
      await k.ask(vlm, undefined, { maxTokens: 4, ignoreEos: true });
      check('after generate');
    } finally {
      clearInterval(timer);
      k.phase('dispose');
      await vlm.dispose();
    }
  }],
  ...[0, -1, 1.5, 1e9, NaN, '2'].map((v) => [`threads ${show(v)}`, R, (k) => k.load({ threads: v })]),
  // --- options of the wrong type or range ---
  ['generate with signal: {}', R, (k) => withTiny(k, (vlm) => vlm.generate(ask({ signal: {} })))],
  ['generate with signal: "abc"', R, (k) => withTiny(k, (vlm) => vlm.generate(ask({ signal: 'abc' })))],
  ['loadModel with signal: {}', R, (k) => k.load({ signal: {} })],
  ['maxPixels -1', R, (k) => withTiny(k, (vlm) => k.ask(vlm, { data: new Uint8Array(48), width: 4, height: 4, channels: 3 }, { image: { maxPixels: -1 } }))],
  ['maxPixels NaN', R, (k) => withTiny(k, (vlm) => k.ask(vlm, { data: new Uint8Array(48), width: 4, height: 4, channels: 3 }, { image: { maxPixels: NaN } }))],
  ['raw image data: null', R, (k) => withTiny(k, (vlm) => k.ask(vlm, { data: null, width: 4, height: 4, channels: 3 }))],
  ['timeoutMs -1 (a download to a closed port)', R, (k) => withTiny(k, (vlm) => k.ask(vlm, 'http://127.0.0.1:1/x.png', { image: { timeoutMs: -1 } }))],
  ['imageCache: null', R, (k) => k.load({ imageCache: null })],
  ['imageCache: { maxBytes: -1 }', R, (k) => k.load({ imageCache: { maxBytes: -1 } })],
  ['imageCache: "big"', R, (k) => k.load({ imageCache: 'big' })],
  ['loadModel options with a getter that throws (model)', R, (k) => {
    k.phase('load');
    return k.lib.loadModel(throwing({ threads: 1, gpu: false }, 'model'));
  }],
  ['loadModel options with a getter that throws (contextSize)', R, (k) => {
    k.phase('load'); // not through k.load: its spread would call the getter in the case itself
    return k.lib.loadModel(throwing({ ...k.fixtures, threads: 1, gpu: false }, 'contextSize'));
  }],
  ['generate request with a getter that throws (maxTokens)', R, (k) => withTiny(k, (vlm) => vlm.generate(throwing(ask(), 'maxTokens')))],
  ['generate message with a getter that throws (content)', R, (k) => withTiny(k, (vlm) => vlm.generate({ messages: [throwing({ role: 'user' }, 'content')], maxTokens: 2 }))],
  ['image part with a getter that throws (image)', R, (k) => withTiny(k, (vlm) => vlm.generate({ messages: [{ role: 'user', content: [throwing({ type: 'image' }, 'image')] }], maxTokens: 2 }))],
  ['generate request that is a Proxy throwing on every read', R, (k) => withTiny(k, (vlm) => vlm.generate(new Proxy({}, { get() { throw new Error('trap'); }, has() { throw new Error('trap'); } })))],
  ['kvCacheType q8_0 with flashAttention false', R, (k) => k.load({ kvCacheType: 'q8_0', flashAttention: false })],
  ['kvCacheType q4_0 with flashAttention auto', A, (k) => withTiny(k, (vlm) => vlm.generate(ask()), { kvCacheType: 'q4_0' })],
  ['kvCacheType q8_0 with flashAttention true', A, (k) => withTiny(k, (vlm) => vlm.generate(ask()), { kvCacheType: 'q8_0', flashAttention: true })],
  ['contextSize 16', A, (k) => withTiny(k, (vlm) => vlm.generate(ask()), { contextSize: 16 }), { codes: [...CALLER_CODES, 'ERR_CONTEXT_FULL'] }],
  ['parallel 256, contextSize 256', A, (k) => withTiny(k, (vlm) => vlm.generate(ask()), { parallel: 256, contextSize: 256 })],
  ['batchSize 1, ubatchSize 1', A, (k) => withTiny(k, (vlm) => vlm.generate(ask()), { batchSize: 1, ubatchSize: 1 })],
  ['ubatchSize larger than batchSize', A, (k) => withTiny(k, (vlm) => vlm.generate(ask()), { batchSize: 32, ubatchSize: 512 })],
  ['memoryLimit 1 byte', R, (k) => k.load({ memoryLimit: 1 }), { codes: [...CALLER_CODES, 'ERR_INSUFFICIENT_MEMORY'] }],
  ...[['gpu', 'yes'], ['gpu', { layers: -2 }], ['gpu', { memory: '-1GB' }], ['memoryLimit', 'lots'], ['mmproj', ''], ['onProgress', 'x'], ['contextSize', 1 << 30]].map(([key, v]) =>
    [`loadModel ${key}: ${JSON.stringify(v)}`, R, (k) => k.load({ [key]: v })]),
  ['loadModel with an onProgress that throws', OK, (k) => withTiny(k, () => {}, { onProgress: () => { throw new Error('user bug'); } })],
  ['loadModel(null)', R, (k) => k.lib.loadModel(null)],
  ['loadModel("a path string")', R, (k) => k.lib.loadModel(k.fixtures.model)],
  ['loadModel model: 42', R, (k) => k.load({ model: 42 })],
  ['loadModel model: a Buffer', R, (k) => k.load({ model: Buffer.from(k.fixtures.model) })],
  ['loadModel model: a file: URL object', A, (k) => k.load({ model: new URL(`file://${k.fixtures.model}`) }).then((m) => m.dispose()), { codes: [...CALLER_CODES, ...MODEL_CODES] }],
  ['loadModel of a hub reference, offline', R, (k) => k.load({ model: 'nobody-fuzz/nothing-here', mmproj: undefined, hub: { offline: true, cacheDir: k.path('hub') } }), { codes: [...CALLER_CODES, 'ERR_OFFLINE', 'ERR_MODEL_NOT_FOUND'] }],
  ['load aborted while loading', R, (k) => {
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 5);
    return k.load({ signal: ctl.signal }).then((m) => m.dispose());
  }, { codes: ['ERR_ABORTED'] }],
  // --- unknown option keys (typos) ---
  ['loadModel({ lroa })', R, (k) => k.load({ lroa: { path: 'x' } })],
  ['loadModel({ contextsize: 512 }) (case typo)', R, (k) => k.load({ contextsize: 512 })],
  ['generate({ jsonShema })', R, (k) => withTiny(k, (vlm) => vlm.generate(ask({ jsonShema: { type: 'object' } })))],
  ['generate({ max_tokens: 5 })', R, (k) => withTiny(k, (vlm) => vlm.generate(ask({ max_tokens: 5 })))],
  ['image options { maxPixel: 10 }', R, (k) => withTiny(k, (vlm) => k.ask(vlm, { data: new Uint8Array(48), width: 4, height: 4, channels: 3 }, { image: { maxPixel: 10 } }))],
  // --- token ids that are not ids ---
  ...[[NaN], [Infinity], ['a'], [-1], [2 ** 31], [1.5], [49280], [1e300], [null], [undefined]].map((ids) =>
    [`detokenize(${show(ids)})`, R, (k) => withTiny(k, (vlm) => vlm.detokenize(ids))]),
  ['detokenize(Int32Array [-5])', R, (k) => withTiny(k, (vlm) => vlm.detokenize(new Int32Array([-5])))],
  ['detokenize(a sparse array)', R, (k) => withTiny(k, (vlm) => vlm.detokenize([1, , 2]))],
  ['detokenize([])', OK, (k) => withTiny(k, (vlm) => vlm.detokenize([]))],
  ['detokenize("1,2")', R, (k) => withTiny(k, (vlm) => vlm.detokenize('1,2'))],
  ...[123, null, undefined, Symbol('s')].map((v) => [`tokenize(${String(v)})`, R, (k) => withTiny(k, (vlm) => vlm.tokenize(v))]),
  ['tokenize of a 4 MB string', OK, (k) => withTiny(k, (vlm) => vlm.tokenize('word '.repeat(800_000)))],
  // --- sampling options ---
  ...[['temperature', NaN], ['temperature', Infinity], ['temperature', '0.5'], ['topP', 2], ['topK', -1], ['minP', -0.1], ['seed', -1], ['seed', 2 ** 32],
    ['seed', 1.5], ['repeatLastN', -2], ['maxTokens', 5n], ['maxTokens', '5'], ['maxTokens', 0], ['stop', ['']], ['stop', 'x'], ['stop', [null]],
    ['ignoreEos', 'yes'], ['tokens', 1], ['logprobs', 'yes']].map(([key, v]) => [`generate ${key}: ${show(v)}`, R, (k) => withTiny(k, (vlm) => vlm.generate(ask({ [key]: v })))]),
  ['generate with 10000 stop strings', A, (k) => withTiny(k, (vlm) => vlm.generate(ask({ stop: Array.from({ length: 10_000 }, (_, i) => `zz${i}`) })))],
  ['tokens and logprobs line up with completionTokens', OK, (k) => withTiny(k, async (vlm) => {
    const r = await vlm.generate(ask({ maxTokens: 6, ignoreEos: true, tokens: true, logprobs: true }));
    if (r.tokens?.length !== r.usage.completionTokens || r.logprobs?.length !== r.usage.completionTokens) {
      k.note({ wrong: `${r.tokens?.length} tokens and ${r.logprobs?.length} logprobs for ${r.usage.completionTokens} completion tokens` });
    }
  })],
  ['maxTokens 2^31-1, aborted after 300 ms', R, (k) => withTiny(k, async (vlm) => {
    const r = await vlm.generate(ask({ maxTokens: 2 ** 31 - 1, ignoreEos: true, signal: AbortSignal.timeout(300) }));
    k.note({ wrong: `resolved with finishReason ${r.finishReason} after ${r.usage.completionTokens} token(s)` });
  }, { contextSize: 8192 }), { codes: ['ERR_ABORTED'] }],
  ['generate with an already aborted signal', R, (k) => withTiny(k, (vlm) => vlm.generate(ask({ signal: AbortSignal.abort('custom reason') }))), { codes: ['ERR_ABORTED'] }],
  ['one signal for two generations, aborted', R, (k) => withTiny(k, async (vlm) => {
    const ctl = new AbortController();
    const a = vlm.generate(ask({ maxTokens: 500, ignoreEos: true, signal: ctl.signal }));
    const b = vlm.generate(ask({ maxTokens: 500, ignoreEos: true, signal: ctl.signal }));
    setTimeout(() => ctl.abort(), 100);
    await Promise.all([a, b]);
  }), { codes: ['ERR_ABORTED'] }],
  ['generate with ignoreEos and the context as the limit', A, (k) => withTiny(k, async (vlm) => {
    const r = await vlm.generate(ask({ maxTokens: 100_000, ignoreEos: true }));
    if (r.finishReason !== 'length') k.note({ wrong: `finishReason ${r.finishReason} at the context's end` });
  }, { contextSize: 64 }), { codes: [...CALLER_CODES, 'ERR_CONTEXT_FULL'] }],
  // --- messages ---
  ...[['content a number', [{ role: 'user', content: 42 }]], ['content [[]]', [{ role: 'user', content: [[]] }]], ['no role', [{ content: 'hi' }]],
    ['messages an object', { role: 'user', content: 'hi' }], ['messages a string', 'hi'], ['a null message', [null]],
    ['a __proto__ message', JSON.parse('[{"__proto__": {"role": "user", "content": "hi"}}]')], ['text part without text', [{ role: 'user', content: [{ type: 'text' }] }]],
    ['image part without image', [{ role: 'user', content: [{ type: 'image' }] }]]].map(([name, messages]) =>
    [`messages: ${name}`, R, (k) => withTiny(k, (vlm) => vlm.generate({ messages, maxTokens: 2 }))]),
  ['messages: 10000 text parts', A, (k) => withTiny(k, (vlm) => vlm.generate({ messages: [{ role: 'user', content: Array.from({ length: 10_000 }, () => ({ type: 'text', text: 'a ' })) }], maxTokens: 2 })), { codes: [...CALLER_CODES, 'ERR_CONTEXT_FULL'] }],
  ['100 images in one prompt (context 512)', R, (k) => withTiny(k, (vlm) => vlm.generate({
    messages: [{ role: 'user', content: [...Array.from({ length: 100 }, () => ({ type: 'image', image: { data: new Uint8Array(48), width: 4, height: 4, channels: 3 } })), { type: 'text', text: 'Count.' }] }], maxTokens: 2,
  })), { codes: [...CALLER_CODES, 'ERR_CONTEXT_FULL'] }],
  ['prompt with a media marker and no images', R, (k) => withTiny(k, (vlm) => vlm.generate({ prompt: `${vlm.info.mediaMarker} hi`, images: [], maxTokens: 2 }))],
  ['prompt with images not an array', R, (k) => withTiny(k, (vlm) => vlm.generate({ prompt: 'hi', images: 'x.png', maxTokens: 2 }))],
  ['prompt an empty string', R, (k) => withTiny(k, (vlm) => vlm.generate({ prompt: '', maxTokens: 2 }))],
  ['prompt and messages both', R, (k) => withTiny(k, (vlm) => vlm.generate({ prompt: 'hi', messages: msg(), maxTokens: 2 }))],
  ['formatPrompt(null)', R, (k) => withTiny(k, async (vlm) => vlm.formatPrompt(null))],
  ['countTokens({})', R, (k) => withTiny(k, (vlm) => vlm.countTokens({}))],
  ['countTokens(null)', R, (k) => withTiny(k, (vlm) => vlm.countTokens(null))],
  ['clearImageCache({ maxBytes: -1 })', R, (k) => withTiny(k, async (vlm) => vlm.clearImageCache({ maxBytes: -1 }))],
  ['estimateMemory({ model: 42 })', R, (k) => k.lib.estimateMemory({ model: 42 })],
  // --- lifecycle ---
  ['generate after dispose', R, (k) => withTiny(k, async (vlm) => {
    await vlm.dispose();
    await vlm.generate(ask());
  }), { codes: ['ERR_DISPOSED'] }],
  ['stream after dispose, iterated', R, (k) => withTiny(k, async (vlm) => {
    await vlm.dispose();
    await collect(vlm.stream(ask()));
  }), { codes: ['ERR_DISPOSED'] }],
  ['tokenize after dispose', R, (k) => withTiny(k, async (vlm) => {
    await vlm.dispose();
    await vlm.tokenize('hi');
  }), { codes: ['ERR_DISPOSED'] }],
  ['dispose twice at once, then once more', OK, (k) => withTiny(k, async (vlm) => {
    await Promise.all([vlm.dispose(), vlm.dispose()]);
    await vlm.dispose();
  })],
  ['dispose with 10 generations in flight', A, (k) => withTiny(k, async (vlm) => {
    const runs = Array.from({ length: 10 }, () => vlm.generate(ask({ maxTokens: 200, ignoreEos: true })));
    await new Promise((r) => setTimeout(r, 50));
    await vlm.dispose();
    const settled = await Promise.allSettled(runs);
    const bad = settled.find((s) => s.status === 'rejected' && !['ERR_DISPOSED', 'ERR_ABORTED'].includes(s.reason?.code));
    if (bad) throw bad.reason;
  })],
  ['50 concurrent generations with parallel 1', OK, (k) => withTiny(k, async (vlm) => {
    await Promise.all(Array.from({ length: 50 }, () => vlm.generate(ask({ maxTokens: 2 }))));
  })],
];

/** Random hostile sampling values for indexes past the list. */
function randomCase(rng) {
  const key = rng.pick(['maxTokens', 'temperature', 'topK', 'topP', 'minP', 'repeatPenalty', 'repeatLastN', 'seed']);
  const v = rng.pick([-1, -0, 0.5, 1e308, -1e308, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 31, -(2 ** 31), '1', null, true, [], {}, 3n]);
  return [`generate ${key}: ${show(v)} (random)`, A, (k) => withTiny(k, (vlm) => vlm.generate(ask({ [key]: v })))];
}

export async function generate({ rng, seed, index, k }) {
  const slot = listSlot(seed, 'api', index, CASES.length);
  const [name, expect, run, opts = {}] = slot >= 0 ? CASES[slot] : randomCase(rng);
  return {
    name,
    kind: slot >= 0 ? name : `generate ${name.split(' ')[1]} (random)`,
    expect,
    codes: opts.codes ?? CALLER_CODES,
    run: () => run(k),
  };
}
