// A GGUF file as an editable document, for the fuzzer's structural mutations.
//
// Parsing is test/fixtures/gguf.mjs's readGGUF; the data section is kept as raw bytes. The
// serializer below writes the header back from the (edited) document and can lie in any
// length or count field (`raw` overrides), which the fixture writer (built to be correct) cannot.
// Layout (ggml/docs/gguf.md): magic | version | n_tensors u64 | n_kv u64 | kv pairs |
// tensor infos | padding to the alignment | data. Strings are a u64 length + bytes.

import { readFile, writeFile } from 'node:fs/promises';
import { DEFAULT_ALIGNMENT, ValueType, readGGUF } from '../fixtures/gguf.mjs';

export { ValueType };
export const GGUF_MAGIC = 0x46554747;

/**
 * Reads `path` into `{ version, kvs: [{key, type, itemType?, value}], tensors: [{name, shape,
 * type, offset}], alignment, dataOffset, data }`; `data` is the bytes after the header.
 */
export async function loadDoc(path) {
  const g = await readGGUF(path);
  const file = await readFile(path);
  return {
    version: g.version,
    kvs: [...g.metadata].map(([key, v]) => ({ key, ...v })),
    tensors: g.tensors.map((t) => ({ ...t, shape: t.shape.slice() })),
    alignment: g.alignment,
    dataOffset: g.dataOffset,
    data: file.subarray(g.dataOffset),
  };
}

/** A copy whose kv and tensor lists (and their entries) can be edited without touching `doc`. */
export function cloneDoc(doc) {
  return {
    ...doc,
    kvs: doc.kvs.map((kv) => ({ ...kv, value: Array.isArray(kv.value) ? kv.value.slice() : kv.value })),
    tensors: doc.tensors.map((t) => ({ ...t, shape: t.shape.slice() })),
  };
}

export const findKv = (doc, key) => doc.kvs.find((kv) => kv.key === key);
export const findTensor = (doc, name) => doc.tensors.find((t) => t.name === name);

/** Sets (or appends) a key with a typed value `{type, value, itemType?}`. */
export function setKv(doc, key, typed) {
  const kv = findKv(doc, key);
  if (kv) {
    delete kv.itemType;
    Object.assign(kv, typed);
  } else doc.kvs.push({ key, ...typed });
}

export function removeKv(doc, key) {
  doc.kvs = doc.kvs.filter((kv) => kv.key !== key);
}

/** Little-endian byte builder that accepts out-of-range u64 values as BigInt. */
class Bytes {
  constructor() {
    this.parts = [];
    this.length = 0;
  }
  push(buf) {
    this.parts.push(buf);
    this.length += buf.length;
  }
  num(size, write) {
    const b = Buffer.alloc(size);
    write(b);
    this.push(b);
  }
  u8(v) { this.num(1, (b) => b.writeUInt8(v & 0xff)); }
  i8(v) { this.num(1, (b) => b.writeInt8(v)); }
  u16(v) { this.num(2, (b) => b.writeUInt16LE(v & 0xffff)); }
  i16(v) { this.num(2, (b) => b.writeInt16LE(v)); }
  u32(v) { this.num(4, (b) => b.writeUInt32LE(Number(BigInt.asUintN(32, BigInt(Math.trunc(Number(v))))))); }
  i32(v) { this.num(4, (b) => b.writeInt32LE(Number(BigInt.asIntN(32, BigInt(Math.trunc(Number(v))))))); }
  f32(v) { this.num(4, (b) => b.writeFloatLE(v)); }
  f64(v) { this.num(8, (b) => b.writeDoubleLE(v)); }
  u64(v) { this.num(8, (b) => b.writeBigUInt64LE(BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(Math.trunc(v))))); }
  i64(v) { this.num(8, (b) => b.writeBigInt64LE(BigInt.asIntN(64, typeof v === 'bigint' ? v : BigInt(Math.trunc(v))))); }
  /** A string; `len` (when given) is written instead of its true byte length. */
  str(s, len) {
    const bytes = Buffer.isBuffer(s) ? s : Buffer.from(String(s), 'utf8');
    this.u64(len ?? bytes.length);
    this.push(bytes);
  }
  concat() {
    return Buffer.concat(this.parts, this.length);
  }
}

function writeScalar(b, type, v) {
  switch (type) {
    case ValueType.UINT8: return b.u8(Number(v));
    case ValueType.INT8: return b.i8(Math.max(-128, Math.min(127, Number(v) | 0)));
    case ValueType.UINT16: return b.u16(Number(v));
    case ValueType.INT16: return b.i16(Math.max(-32768, Math.min(32767, Number(v) | 0)));
    case ValueType.UINT32: return b.u32(v);
    case ValueType.INT32: return b.i32(v);
    case ValueType.FLOAT32: return b.f32(Number(v));
    case ValueType.BOOL: return b.u8(v ? 1 : 0);
    case ValueType.STRING: return b.str(typeof v === 'string' || Buffer.isBuffer(v) ? v : String(v));
    case ValueType.UINT64: return b.u64(typeof v === 'bigint' ? v : Number(v));
    case ValueType.INT64: return b.i64(typeof v === 'bigint' ? v : Number(v));
    case ValueType.FLOAT64: return b.f64(Number(v));
    default: return b.u32(Number(v) >>> 0); // an invalid type tag: its "value" is 4 arbitrary bytes
  }
}

/**
 * Serializes the header of `doc`. Lies, all optional:
 * - `raw.magic`, `raw.version`, `raw.nTensors`, `raw.nKv` on the document;
 * - on a kv: `raw.keyLen`, `raw.type` (tag written, value still encoded by `type`),
 *   `raw.itemType`, `raw.count` (array length), `raw.strLen` (string value length);
 * - on a tensor: `raw.nameLen`, `raw.nDims` (the dims in `shape` are still written).
 * `padTo` picks the padding after the tensor infos (default: the document's alignment when
 * it is a sane power of two, else 32).
 * @returns {{ header: Buffer, tensorInfoStart: number, kvStart: number }}
 */
export function serializeHeader(doc, { padTo } = {}) {
  const r = doc.raw ?? {};
  const b = new Bytes();
  b.u32(r.magic ?? GGUF_MAGIC);
  b.u32(r.version ?? doc.version ?? 3);
  b.u64(r.nTensors ?? doc.tensors.length);
  b.u64(r.nKv ?? doc.kvs.length);
  const kvStart = b.length;
  for (const kv of doc.kvs) {
    const kr = kv.raw ?? {};
    b.str(kv.key, kr.keyLen);
    b.u32(kr.type ?? kv.type);
    if (kv.type === ValueType.ARRAY) {
      b.u32(kr.itemType ?? kv.itemType);
      b.u64(kr.count ?? kv.value.length);
      for (const v of kv.value) writeScalar(b, kv.itemType, v);
    } else if (kv.type === ValueType.STRING) {
      b.str(kv.value, kr.strLen);
    } else writeScalar(b, kv.type, kv.value);
  }
  const tensorInfoStart = b.length;
  for (const t of doc.tensors) {
    const tr = t.raw ?? {};
    b.str(t.name, tr.nameLen);
    b.u32(tr.nDims ?? t.shape.length);
    for (const n of t.shape) b.u64(n);
    b.u32(t.type);
    b.u64(t.offset);
  }
  const alignKv = findKv(doc, 'general.alignment');
  const declared = alignKv && typeof alignKv.value === 'number' ? alignKv.value : DEFAULT_ALIGNMENT;
  const pad = padTo ?? (declared > 0 && declared <= 1 << 16 && (declared & (declared - 1)) === 0 ? declared : DEFAULT_ALIGNMENT);
  const len = b.length;
  const padded = Math.ceil(len / pad) * pad;
  b.push(Buffer.alloc(padded - len));
  return { header: b.concat(), kvStart, tensorInfoStart };
}

/**
 * Writes `doc` to `path`: its header, then its data section. `edit(bytes)` may change the
 * whole file's bytes in place (flips) or return a shorter copy (truncation) before it is written.
 * @returns {Promise<{ size: number, headerLength: number, tensorInfoStart: number, kvStart: number }>}
 */
export async function writeDoc(path, doc, { edit, padTo } = {}) {
  const { header, kvStart, tensorInfoStart } = serializeHeader(doc, { padTo });
  let bytes = Buffer.concat([header, doc.data]);
  if (edit) bytes = edit(bytes, { headerLength: header.length, kvStart, tensorInfoStart }) ?? bytes;
  await writeFile(path, bytes);
  return { size: bytes.length, headerLength: header.length, kvStart, tensorInfoStart };
}
