// gguf: structural mutations of the tiny fixture's model or projector, driven by the GGUF
// structure (header counts, string and array lengths, kv types, tensor dims/types/offsets/names,
// truncation, byte flips in the header area, swapped pairs). Then loadModel and one short
// generation (with an image when there is a projector).
//
// Index 0 of every seed is the control: the fixture rewritten by our serializer, unmutated; it
// must load and generate (a 'wrong' control means the harness, not the library, is broken).

import { MODEL_CODES } from '../kit.mjs';
import { ValueType, cloneDoc, loadDoc, serializeHeader, writeDoc } from '../gguf-doc.mjs';
import { testImage, tryFiles } from './files.mjs';

const U64_MAX = 2n ** 64n - 1n;
const HUGE = [2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 62n, 2n ** 63n - 1n, U64_MAX];
const SCALAR_TYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12];

const big = (n) => (typeof n === 'bigint' ? `${n}` : String(n));

/** A value of `kv` re-encoded as another GGUF type (the file stays well-formed, the meaning breaks). */
function retype(rng, kv) {
  if (kv.type === ValueType.ARRAY) {
    const first = kv.value[0];
    return rng.pick([
      { to: 'scalar', typed: { type: kv.itemType, value: first } },
      { to: 'u32 array', typed: { type: ValueType.ARRAY, itemType: ValueType.UINT32, value: kv.value.map((v) => (typeof v === 'number' ? v : 7)) } },
      { to: 'string array', typed: { type: ValueType.ARRAY, itemType: ValueType.STRING, value: kv.value.map(String) } },
      { to: 'empty array', typed: { type: ValueType.ARRAY, itemType: kv.itemType, value: [] } },
    ]);
  }
  if (kv.type === ValueType.STRING) {
    return rng.pick([
      { to: 'u32', typed: { type: ValueType.UINT32, value: 7 } },
      { to: 'bool', typed: { type: ValueType.BOOL, value: true } },
      { to: 'string array', typed: { type: ValueType.ARRAY, itemType: ValueType.STRING, value: [kv.value] } },
    ]);
  }
  const n = Number(kv.value);
  const type = rng.pick(SCALAR_TYPES.filter((t) => t !== kv.type));
  const value = type === ValueType.STRING ? String(kv.value) : type === ValueType.BOOL ? Boolean(n) : n;
  return rng.pick([
    { to: `type ${type}`, typed: { type, value } },
    { to: 'u32 array', typed: { type: ValueType.ARRAY, itemType: ValueType.UINT32, value: [n, n, n] } },
  ]);
}

/** Where in the header a flip lands: the fixed fields, the first kvs, any kv, or the tensor infos. */
function headerSpot(rng, layout) {
  const region = rng.pick(['counts', 'first-kvs', 'kvs', 'tensor-infos']);
  const [lo, hi] = {
    counts: [0, 24],
    'first-kvs': [layout.kvStart, Math.min(layout.kvStart + 2048, layout.tensorInfoStart)],
    kvs: [layout.kvStart, layout.tensorInfoStart],
    'tensor-infos': [layout.tensorInfoStart, layout.headerLength],
  }[region];
  return { region, at: lo + rng.int(Math.max(1, hi - lo)) };
}

/**
 * Mutations: [weight, kind, (rng, doc) => { detail } | { edit(layout) => { detail, apply(bytes) } }].
 * `doc` is a private copy to change in place. Byte-level mutations (flips, truncation) pick their
 * spots from the serialized layout ({ kvStart, tensorInfoStart, headerLength, size }), and
 * `apply` edits the file's bytes in place or returns a shorter copy.
 */
const MUTATIONS = [
  [3, 'header.n_tensors', (rng, doc) => {
    const n = doc.tensors.length;
    const v = rng.pick([0, n - 1, n + 1, ...HUGE]);
    doc.raw = { ...doc.raw, nTensors: v };
    return { detail: `n_tensors ${big(v)} (has ${n})` };
  }],
  [3, 'header.n_kv', (rng, doc) => {
    const n = doc.kvs.length;
    const v = rng.pick([0, n - 1, n + 1, ...HUGE]);
    doc.raw = { ...doc.raw, nKv: v };
    return { detail: `n_kv ${big(v)} (has ${n})` };
  }],
  [1, 'header.version', (rng, doc) => {
    const v = rng.pick([0, 1, 2, 4, 0xffffffff]);
    doc.raw = { ...doc.raw, version: v };
    return { detail: `version ${v}` };
  }],
  [1, 'header.magic', (rng, doc) => {
    const v = rng.pick([0x47475546, 0, rng.u32()]);
    doc.raw = { ...doc.raw, magic: v };
    return { detail: `magic 0x${v.toString(16)}` };
  }],
  [3, 'kv.key_length', (rng, doc) => {
    const kv = rng.pick(doc.kvs);
    const len = Buffer.byteLength(kv.key);
    const v = rng.pick([0, len - 1, len + 1, ...HUGE]);
    kv.raw = { keyLen: v };
    return { detail: `key length of ${kv.key} = ${big(v)} (is ${len})` };
  }],
  [3, 'kv.string_length', (rng, doc) => {
    const kv = rng.pick(doc.kvs.filter((x) => x.type === ValueType.STRING));
    const len = Buffer.byteLength(kv.value);
    const v = rng.pick([0, len - 1, len + 1, ...HUGE]);
    kv.raw = { strLen: v };
    return { detail: `string length of ${kv.key} = ${big(v)} (is ${len})` };
  }],
  [3, 'kv.array_count', (rng, doc) => {
    const kv = rng.pick(doc.kvs.filter((x) => x.type === ValueType.ARRAY));
    const n = kv.value.length;
    const v = rng.pick([0, n - 1, n + 1, ...HUGE]);
    kv.raw = { count: v };
    return { detail: `array count of ${kv.key} = ${big(v)} (is ${n})` };
  }],
  [3, 'kv.type_tag', (rng, doc) => {
    const kv = rng.pick(doc.kvs);
    const v = rng.pick([...SCALAR_TYPES, 9, 13, 99, 0xffffffff].filter((t) => t !== kv.type));
    kv.raw = { type: v };
    return { detail: `type tag of ${kv.key} = ${v} (is ${kv.type}), value bytes unchanged` };
  }],
  [2, 'kv.item_type', (rng, doc) => {
    const kv = rng.pick(doc.kvs.filter((x) => x.type === ValueType.ARRAY));
    const v = rng.pick([...SCALAR_TYPES, 9, 13, 0xffffffff].filter((t) => t !== kv.itemType));
    kv.raw = { itemType: v };
    return { detail: `array item type of ${kv.key} = ${v} (is ${kv.itemType}), item bytes unchanged` };
  }],
  [4, 'kv.retype', (rng, doc) => {
    const kv = rng.pick(doc.kvs);
    const { to, typed } = retype(rng, kv);
    delete kv.itemType;
    Object.assign(kv, typed);
    return { detail: `${kv.key} re-encoded as ${to}` };
  }],
  [2, 'kv.duplicate', (rng, doc) => {
    const i = rng.int(doc.kvs.length);
    doc.kvs.splice(i + 1, 0, { ...doc.kvs[i] });
    return { detail: `${doc.kvs[i].key} twice` };
  }],
  [2, 'kv.remove', (rng, doc) => {
    const i = rng.int(doc.kvs.length);
    const [kv] = doc.kvs.splice(i, 1);
    return { detail: `${kv.key} removed` };
  }],
  [2, 'kv.key_garbage', (rng, doc) => {
    const kv = rng.pick(doc.kvs);
    const old = kv.key;
    const pick = rng.pick(['empty', 'long', 'invalid-utf8', 'nul']);
    kv.key = { empty: '', long: 'k'.repeat(70_000), 'invalid-utf8': Buffer.from([0xff, 0xfe, 0xc3, 0x28]), nul: `${old}\0x` }[pick];
    return { detail: `key ${old} -> ${pick}` };
  }],
  [2, 'tensor.n_dims', (rng, doc) => {
    const t = rng.pick(doc.tensors);
    if (rng.chance(0.4)) {
      const extra = rng.pick([1, 2, 3]);
      for (let i = 0; i < extra; i++) t.shape.push(1);
      return { detail: `${t.name} with ${t.shape.length} dims (padded with 1s)` };
    }
    const v = rng.pick([0, 5, 255, 0xffffffff]);
    t.raw = { nDims: v };
    return { detail: `n_dims of ${t.name} = ${v} (is ${t.shape.length})` };
  }],
  [5, 'tensor.dim', (rng, doc) => {
    const t = rng.pick(doc.tensors);
    const d = rng.int(t.shape.length);
    const n = t.shape[d];
    const v = rng.pick([0, n - 1, n + 1, 2 * n, ...HUGE]);
    t.shape[d] = v;
    return { detail: `${t.name} ne[${d}] = ${big(v)} (is ${n})` };
  }],
  [4, 'tensor.type', (rng, doc) => {
    const t = rng.pick(doc.tensors);
    const v = rng.pick([0, 1, 2, 4, 5, 8, 10, 12, 16, 20, 23, 24, 28, 30, 31, 39, 40, 41, 99, 0xffffffff].filter((x) => x !== t.type));
    const old = t.type;
    t.type = v;
    return { detail: `${t.name} type ${v} (is ${old})` };
  }],
  [4, 'tensor.offset', (rng, doc) => {
    const i = rng.int(doc.tensors.length);
    const t = doc.tensors[i];
    const prev = doc.tensors[i - 1]?.offset ?? 0;
    const old = t.offset;
    const v = rng.pick([doc.data.length, doc.data.length + 32, old + 1, old + 32, prev, 0, doc.data.length - 32, 2n ** 63n, U64_MAX - 31n]);
    t.offset = v;
    return { detail: `${t.name} offset ${big(v)} (is ${old}, data ${doc.data.length} bytes)` };
  }],
  [4, 'tensor.name_dup', (rng, doc) => {
    const i = rng.int(doc.tensors.length);
    let j = rng.int(doc.tensors.length - 1);
    if (j >= i) j++;
    const old = doc.tensors[i].name;
    doc.tensors[i].name = doc.tensors[j].name;
    return { detail: `${old} renamed to ${doc.tensors[j].name} (a duplicate name)` };
  }],
  [1, 'tensor.name_length', (rng, doc) => {
    const t = rng.pick(doc.tensors);
    const len = Buffer.byteLength(t.name);
    const v = rng.pick([0, len - 1, len + 1, ...HUGE]);
    t.raw = { nameLen: v };
    return { detail: `name length of ${t.name} = ${big(v)} (is ${len})` };
  }],
  [2, 'tensor.rename', (rng, doc) => {
    const t = rng.pick(doc.tensors);
    const old = t.name;
    t.name = rng.pick(['', 'x'.repeat(63), 'x'.repeat(64), 'x'.repeat(300), 'unknown.weight', `${old}.extra`]);
    return { detail: `${old} renamed to '${t.name.length > 20 ? `${t.name.length} x's` : t.name}'` };
  }],
  [2, 'tensor.remove', (rng, doc) => {
    const [t] = doc.tensors.splice(rng.int(doc.tensors.length), 1);
    return { detail: `${t.name} removed` };
  }],
  [1, 'tensor.add', (rng, doc) => {
    const name = rng.pick(['extra.weight', 'blk.0.attn_q.bias', 'v.blk.0.attn_q_norm.weight', 'mm.model.fc.bias']);
    const shape = rng.pick([[128], [16], [128, 128]]);
    doc.tensors.push({ name, shape, type: 0, offset: doc.data.length });
    doc.data = Buffer.concat([doc.data, Buffer.alloc(shape.reduce((a, b) => a * b, 4))]);
    return { detail: `extra tensor ${name} [${shape}]` };
  }],
  [2, 'tensor.swap_shapes', (rng, doc) => {
    const a = rng.pick(doc.tensors);
    const b = rng.pick(doc.tensors.filter((t) => t !== a && String(t.shape) !== String(a.shape)));
    [a.shape, b.shape] = [b.shape, a.shape];
    return { detail: `shapes of ${a.name} and ${b.name} swapped` };
  }],
  [3, 'truncate', (rng) => ({
    edit(layout) {
      const where = rng.pick(['fixed header', 'kvs', 'tensor infos', 'at data start', 'data', 'last byte']);
      const at = {
        'fixed header': rng.int(24),
        kvs: layout.kvStart + rng.int(layout.tensorInfoStart - layout.kvStart),
        'tensor infos': layout.tensorInfoStart + rng.int(layout.headerLength - layout.tensorInfoStart),
        'at data start': layout.headerLength,
        data: layout.headerLength + rng.int(layout.size - layout.headerLength),
        'last byte': layout.size - 1,
      }[where];
      return { detail: `truncated in ${where} at ${at} of ${layout.size}`, apply: (bytes) => bytes.subarray(0, at) };
    },
  })],
  [4, 'flip.bits', (rng) => ({
    edit(layout) {
      const n = rng.pick([1, 4, 16, 64]);
      const spots = Array.from({ length: n }, () => ({ ...headerSpot(rng, layout), bit: rng.int(8) }));
      const where = spots.slice(0, 3).map((p) => `${p.region}@${p.at}`).join(', ');
      return {
        detail: `${n} bit flip${n > 1 ? 's' : ''} in the header: ${where}${n > 3 ? ', ...' : ''}`,
        apply(bytes) {
          for (const p of spots) bytes[p.at] ^= 1 << p.bit;
        },
      };
    },
  })],
  [4, 'flip.block16', (rng) => ({
    edit(layout) {
      const { region, at } = headerSpot(rng, layout);
      const start = Math.min(at, layout.headerLength - 16);
      const block = rng.bytes(16);
      return { detail: `16 random bytes at ${region}@${start}`, apply: (bytes) => void block.copy(bytes, start) };
    },
  })],
  [2, 'flip.data', (rng, doc) => {
    const pattern = rng.pick(['nan', 'inf', 'huge', 'random']);
    const bytes = { nan: [0, 0, 0xc0, 0x7f], inf: [0, 0, 0x80, 0x7f], huge: [0xff, 0xff, 0x7f, 0x7f] }[pattern];
    doc.data = Buffer.from(doc.data);
    const n = rng.pick([1, 64, 4096]);
    for (let i = 0; i < n; i++) {
      const at = rng.int(doc.data.length - 4) & ~3;
      if (bytes) Buffer.from(bytes).copy(doc.data, at);
      else rng.bytes(4).copy(doc.data, at);
    }
    return { detail: `${n} words of tensor data set to ${pattern}` };
  }],
  [2, 'alignment', (rng, doc) => {
    const v = rng.pick([0, 1, 3, 16, 48, 64, 4096, 2 ** 31, 0xffffffff]);
    doc.kvs = doc.kvs.filter((kv) => kv.key !== 'general.alignment');
    doc.kvs.push({ key: 'general.alignment', type: ValueType.UINT32, value: v });
    return { detail: `general.alignment ${v}` };
  }],
];

/** Mismatched files: [kind, (fixtures) => files]. */
const PAIRS = [
  ['projector as model', ({ mmproj }) => ({ model: mmproj, mmproj: undefined })],
  ['projector as model, model as projector', ({ model, mmproj }) => ({ model: mmproj, mmproj: model })],
  ['model as projector', ({ model }) => ({ model, mmproj: model })],
  ['projector twice', ({ mmproj }) => ({ model: mmproj, mmproj })],
  ['text model without projector', ({ model }) => ({ model, mmproj: undefined })],
];

let docCache;
async function docs(fixtures) {
  docCache ??= { model: loadDoc(fixtures.model), mmproj: loadDoc(fixtures.mmproj) };
  return docCache;
}

export async function generate({ rng, index, k }) {
  const fx = k.fixtures;
  if (index === 0) {
    return {
      name: 'control: fixture rewritten unmutated',
      kind: 'control',
      expect: 'resolve',
      async run() {
        const d = await docs(fx);
        await writeDoc(k.path('model.gguf'), await d.model);
        await writeDoc(k.path('mmproj.gguf'), await d.mmproj);
        await tryFiles(k, { model: k.path('model.gguf'), mmproj: k.path('mmproj.gguf') }, testImage());
      },
    };
  }
  if (rng.chance(0.06)) {
    const [kind, files] = rng.pick(PAIRS);
    const valid = kind === 'text model without projector';
    return {
      name: `pair: ${kind}`,
      kind: `pair: ${kind}`,
      expect: valid ? 'resolve' : 'reject',
      codes: MODEL_CODES,
      codesAt: 'load',
      run: () => tryFiles(k, files(fx), testImage()),
    };
  }
  const target = rng.pick(['model', 'mmproj']);
  const [, kind, mutate] = rng.weighted(MUTATIONS.map((m) => [m[0], m]));
  // The mutation is chosen (and described) from the document's structure before anything runs.
  const doc = cloneDoc(await (await docs(fx))[target]);
  let m = mutate(rng, doc);
  if (m.edit) {
    const { header, kvStart, tensorInfoStart } = serializeHeader(doc);
    m = m.edit({ kvStart, tensorInfoStart, headerLength: header.length, size: header.length + doc.data.length });
  }
  return {
    name: `${target}: ${m.detail}`,
    kind: `${target} ${kind}`,
    expect: 'any',
    codes: MODEL_CODES,
    codesAt: 'load',
    async run() {
      const path = k.path(`${target}.gguf`);
      await writeDoc(path, doc, { edit: m.apply });
      await tryFiles(k, { ...fx, [target]: path }, testImage());
    },
  };
}
