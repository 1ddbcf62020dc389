// Seeded pseudo-random numbers for the fuzzer: a case is a pure function of (seed, class, index).
//
// sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 32-bit) seeded with cyrb128 of a
// string. Not cryptographic; reproducible on every platform (integer arithmetic only).

/** 128-bit string hash (cyrb128), as four 32-bit words. */
function cyrb128(str) {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** A seeded generator with the helpers the case generators use. */
export class Rng {
  /** @param {string} key any string; equal keys give equal sequences */
  constructor(key) {
    [this.a, this.b, this.c, this.d] = cyrb128(String(key));
    for (let i = 0; i < 12; i++) this.u32(); // warm up: the first outputs of sfc32 are weak
  }

  /** Uniform integer in [0, 2^32). */
  u32() {
    let { a, b, c, d } = this;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    Object.assign(this, { a, b, c, d });
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  float() {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n) {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  range(lo, hi) {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p) {
    return this.float() < p;
  }

  /** One element of a non-empty array. */
  pick(items) {
    return items[this.int(items.length)];
  }

  /** One element of `[[weight, item], ...]`, by weight. */
  weighted(pairs) {
    const total = pairs.reduce((s, [w]) => s + w, 0);
    let r = this.float() * total;
    for (const [w, item] of pairs) {
      if ((r -= w) < 0) return item;
    }
    return pairs[pairs.length - 1][1];
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle(items) {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** `n` random bytes. */
  bytes(n) {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

/** The generator of one case. */
export function caseRng(seed, cls, index) {
  return new Rng(`smolvlm-fuzz:${seed}:${cls}:${index}`);
}

/**
 * Which entry of a fixed list of `length` targeted cases index `index` runs, or -1 once the list
 * is exhausted: the first `length` indexes of a seed visit every entry once, in an order of
 * that seed, so any run with at least `length` cases of a class covers its whole list.
 */
export function listSlot(seed, cls, index, length) {
  if (index >= length) return -1;
  const order = new Rng(`smolvlm-fuzz-order:${seed}:${cls}`).shuffle([...Array(length).keys()]);
  return order[index];
}
