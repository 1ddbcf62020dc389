/**
 * Python semantics that VLMEvalKit's scoring depends on, reproduced for JavaScript strings:
 * `str.split()` / `str.strip()` whitespace, `len()` in code points, `float()` / `int()` parsing,
 * `repr(float)`, and the literal lists VLMEvalKit stores in cells and reads back with `eval`.
 * Kept in one place so every metric uses the very same rules.
 */

/** The characters Python's `str.isspace()` accepts (what `split()` and `strip()` use). */
const WS_CLASS = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WS_RUN = new RegExp(`[${WS_CLASS}]+`, 'u');
const WS_LEAD = new RegExp(`^[${WS_CLASS}]+`, 'u');
const WS_TRAIL = new RegExp(`[${WS_CLASS}]+$`, 'u');

/** `s.split()`: split on runs of whitespace, no empty strings. */
export function pySplit(s: string): string[] {
  return s.split(WS_RUN).filter((x) => x.length > 0);
}

/** `s.strip()` (whitespace), or `s.strip(chars)`. */
export function pyStrip(s: string, chars?: string): string {
  if (chars === undefined) return s.replace(WS_LEAD, '').replace(WS_TRAIL, '');
  return pyRstrip(pyLstrip(s, chars), chars);
}

function pyLstrip(s: string, chars: string): string {
  let i = 0;
  while (i < s.length && chars.includes(s[i])) i++;
  return s.slice(i);
}

/** `s.rstrip(chars)`. */
export function pyRstrip(s: string, chars: string): string {
  let i = s.length;
  while (i > 0 && chars.includes(s[i - 1])) i--;
  return s.slice(0, i);
}

/** `len(s)`: code points, not UTF-16 units. */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** `s.lower()`. */
export function pyLower(s: string): string {
  return s.toLowerCase();
}

/** `repr(x)` / `str(x)` of a Python float: shortest round-trip digits, Python's layout. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expText] = x.toExponential().split('e');
  const exp = Number(expText);
  const sign = mant.startsWith('-') ? '-' : '';
  const digits = mant.replace('-', '').replace('.', '');
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
    const int = digits.padEnd(exp + 1, '0').slice(0, exp + 1);
    const frac = digits.slice(exp + 1);
    return `${sign}${int}.${frac || '0'}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

const DIGITS = '\\d(?:_?\\d)*';
const FLOAT_RE = new RegExp(`^[+-]?(?:(?:${DIGITS})(?:\\.(?:${DIGITS})?)?|\\.${DIGITS})(?:[eE][+-]?${DIGITS})?$`);
const SPECIAL_RE = /^([+-]?)(inf|infinity|nan)$/i;
const INT_RE = new RegExp(`^[+-]?${DIGITS}$`);

/** `float(s)` for a str, or undefined where Python raises ValueError. */
export function pyFloat(s: string): number | undefined {
  const t = pyStrip(s);
  const special = SPECIAL_RE.exec(t);
  if (special) {
    if (special[2].toLowerCase() === 'nan') return NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  if (!FLOAT_RE.test(t)) return undefined;
  return Number(t.replace(/_/g, ''));
}

/** `int(s)` for a str (base 10), or undefined where Python raises ValueError. */
export function pyInt(s: string): bigint | undefined {
  const t = pyStrip(s);
  if (!INT_RE.test(t)) return undefined;
  return BigInt(t.replace(/_/g, ''));
}

/** A Python number as read from a literal: ints keep their exact value, floats their double. */
export class PyNumber {
  constructor(
    readonly kind: 'int' | 'float',
    readonly value: number,
    readonly big?: bigint,
  ) {}
  toString(): string {
    return this.kind === 'int' ? String(this.big ?? this.value) : pyFloatRepr(this.value);
  }
}

/** What a Python literal evaluates to: str, int/float, bool, None, list or tuple (both arrays). */
export type PyValue = string | PyNumber | boolean | null | PyValue[];

/**
 * Evaluates a Python literal the way VLMEvalKit's `eval(cell)` does for the values datasets hold:
 * strings (with escapes and adjacent concatenation), numbers, True/False/None, lists and tuples.
 * Returns undefined where `eval` would raise (or would run code, which we never do).
 */
export function pyLiteral(src: string): PyValue | undefined {
  let i = 0;
  const ws = () => {
    while (i < src.length && ' \t\n\r\f\v'.includes(src[i])) i++;
  };
  const fail = (): never => {
    throw new SyntaxError('not a literal');
  };
  const str = (): string => {
    let raw = false;
    while (/[rRuU]/.test(src[i] ?? '')) {
      if (/[rR]/.test(src[i])) raw = true;
      i++;
    }
    const q = src[i];
    if (q !== "'" && q !== '"') fail();
    const triple = src.startsWith(q.repeat(3), i);
    const end = triple ? q.repeat(3) : q;
    i += end.length;
    let out = '';
    for (;;) {
      if (i >= src.length) fail();
      if (src.startsWith(end, i)) {
        i += end.length;
        return out;
      }
      const c = src[i];
      if (!triple && c === '\n') fail();
      if (c === '\\' && !raw) {
        const n = src[i + 1];
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0', '\n': '' };
        if (n in simple && !(n === '0' && /[0-7]/.test(src[i + 2] ?? ''))) {
          out += simple[n];
          i += 2;
        } else if (n === 'x' || n === 'u' || n === 'U') {
          const len = n === 'x' ? 2 : n === 'u' ? 4 : 8;
          const hex = src.slice(i + 2, i + 2 + len);
          if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) fail();
          out += String.fromCodePoint(parseInt(hex, 16));
          i += 2 + len;
        } else if (/[0-7]/.test(n ?? '')) {
          const oct = /^[0-7]{1,3}/.exec(src.slice(i + 1))![0];
          out += String.fromCodePoint(parseInt(oct, 8));
          i += 1 + oct.length;
        } else {
          out += c; // unknown escapes stay as written
          i++;
        }
        continue;
      }
      out += c;
      i++;
    }
  };
  const value = (): PyValue => {
    ws();
    const c = src[i];
    if (c === '[' || c === '(') {
      const close = c === '[' ? ']' : ')';
      i++;
      const items: PyValue[] = [];
      ws();
      if (src[i] === close) {
        i++;
        return items;
      }
      let sawComma = false;
      for (;;) {
        items.push(value());
        ws();
        if (src[i] === ',') {
          sawComma = true;
          i++;
          ws();
          if (src[i] === close) {
            i++;
            break;
          }
          continue;
        }
        if (src[i] === close) {
          i++;
          break;
        }
        fail();
      }
      // `(x)` is x itself, not a tuple
      return close === ')' && items.length === 1 && !sawComma ? items[0] : items;
    }
    if (c === "'" || c === '"' || (/[rRuU]/.test(c ?? '') && /['"rRuU]/.test(src[i + 1] ?? ''))) {
      let s = str();
      for (;;) {
        const save = i;
        ws();
        if (src[i] === "'" || src[i] === '"') s += str();
        else {
          i = save;
          return s;
        }
      }
    }
    const word = /^(True|False|None)\b/.exec(src.slice(i));
    if (word) {
      i += word[1].length;
      return word[1] === 'None' ? null : word[1] === 'True';
    }
    const num = /^[+-]?\s*(?:(?:\d(?:_?\d)*)(?:\.(?:\d(?:_?\d)*)?)?(?:[eE][+-]?\d(?:_?\d)*)?|\.\d(?:_?\d)*(?:[eE][+-]?\d(?:_?\d)*)?)/.exec(src.slice(i));
    if (num && num[0].length > 0 && /\d/.test(num[0])) {
      i += num[0].length;
      const t = num[0].replace(/[\s_]/g, '');
      if (/^[+-]?\d+$/.test(t)) {
        if (/^[+-]?0\d/.test(t) && /[1-9]/.test(t)) fail(); // 007 is a SyntaxError in Python 3
        const big = BigInt(t);
        return new PyNumber('int', Number(big), big);
      }
      return new PyNumber('float', Number(t));
    }
    return fail();
  };
  try {
    const v = value();
    ws();
    return i === src.length ? v : undefined;
  } catch {
    return undefined;
  }
}

/** `repr()` of a str, as Python writes it (quotes chosen the same way). */
export function pyReprStr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === q) out += `\\${q}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + q;
}

/** `str(v)` of a literal value (lists print their items' repr, as Python does). */
export function pyStr(v: PyValue): string {
  if (typeof v === 'string') return v;
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v instanceof PyNumber) return v.toString();
  return `[${v.map((x) => (typeof x === 'string' ? pyReprStr(x) : pyStr(x))).join(', ')}]`;
}
