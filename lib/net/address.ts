/**
 * IP address classification for the untrusted-URL fetcher: which addresses are public (globally
 * routable unicast) and, for every other one, which class it belongs to. Literal forms are parsed
 * the way resolvers and URL parsers accept them (IPv4 in decimal/octal/hex and shortened forms such
 * as `2130706433` or `0x7f.1`; IPv6 with `::`, embedded IPv4, zone ids, brackets), and IPv6 forms
 * that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are classified by that address.
 */

/** Why an address is not public, or `'public'`. */
export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'multicast'
  | 'unspecified'
  | 'broadcast'
  | 'unique-local'
  | 'metadata'
  | 'reserved';

export interface ClassifiedAddress {
  family: 4 | 6;
  /** The address in canonical text form (dotted quad, or compressed lower-case IPv6). */
  address: string;
  kind: AddressClass;
}

/** Cloud metadata endpoints, named as such even where their range already refuses them. */
const METADATA_V4 = new Set(['169.254.169.254', '169.254.170.2', '169.254.170.23', '100.100.100.200', '192.0.0.192']);
const METADATA_V6 = new Set(['fd00:ec2::254', 'fd00:ec2::23']);

/**
 * Parses an IPv4 address in any form `inet_aton` (and the WHATWG URL parser) accepts: 1 to 4
 * parts, each decimal, octal (leading 0) or hex (0x), the last filling the remaining bytes.
 * Returns the address as an unsigned 32-bit number, or undefined.
 */
export function parseIPv4(text: string): number | undefined {
  let s = text;
  if (s.endsWith('.')) s = s.slice(0, -1); // "127.0.0.1." is the same host
  if (s.length === 0) return undefined;
  const parts = s.split('.');
  if (parts.length > 4) return undefined;
  const values: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0x[0-9a-f]*$/i.test(p)) v = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) v = parseInt(p, 8);
    else if (/^[1-9][0-9]*$/.test(p)) v = Number(p);
    else return undefined;
    if (!Number.isSafeInteger(v)) return undefined;
    values.push(v);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255)) return undefined;
  if (last >= 2 ** (8 * (4 - values.length))) return undefined;
  let n = 0;
  values.forEach((v, i) => (n += v * 2 ** (8 * (3 - i))));
  return n + last;
}

/** Parses an IPv6 address (brackets and a zone id allowed) into 16 bytes, or undefined. */
export function parseIPv6(text: string): Uint8Array | undefined {
  let s = text;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!s.includes(':')) return undefined;
  const bytes = new Uint8Array(16);
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (i === groups.length - 1 && g.includes('.')) {
        if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(g)) return undefined; // embedded IPv4: strict dotted quad
        const octets = g.split('.').map(Number);
        if (octets.some((o) => o > 255)) return undefined;
        out.push((octets[0] << 8) | octets[1], (octets[2] << 8) | octets[3]);
      } else {
        if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = parseGroups(halves[0]);
  const tail = halves.length === 2 ? parseGroups(halves[1]) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1 ? head.length !== 8 : head.length + tail.length > 7) return undefined;
  const groups = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

function v4Text(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

function v6Text(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  // the longest run of zero groups (at least two) becomes "::"
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) (best = i), (bestLen = j - i);
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function inV4(n: number, base: string, bits: number): boolean {
  const b = parseIPv4(base)!;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((n & mask) >>> 0) === ((b & mask) >>> 0);
}

/** The class of an IPv4 address given as a 32-bit number. */
export function classifyIPv4(n: number): AddressClass {
  const text = v4Text(n);
  if (METADATA_V4.has(text)) return 'metadata';
  if (inV4(n, '0.0.0.0', 8)) return 'unspecified'; // "this network"; 0.0.0.0 reaches the local host
  if (inV4(n, '127.0.0.0', 8)) return 'loopback';
  if (inV4(n, '10.0.0.0', 8) || inV4(n, '172.16.0.0', 12) || inV4(n, '192.168.0.0', 16)) return 'private';
  if (inV4(n, '169.254.0.0', 16)) return 'link-local';
  if (inV4(n, '100.64.0.0', 10)) return 'cgnat';
  if (inV4(n, '224.0.0.0', 4)) return 'multicast';
  if (n === 0xffffffff) return 'broadcast';
  if (
    inV4(n, '240.0.0.0', 4) || // future use
    inV4(n, '192.0.0.0', 24) || // IETF protocol assignments
    inV4(n, '192.0.2.0', 24) || // documentation
    inV4(n, '198.51.100.0', 24) ||
    inV4(n, '203.0.113.0', 24) ||
    inV4(n, '198.18.0.0', 15) || // benchmarking
    inV4(n, '192.88.99.0', 24) // 6to4 relay anycast
  ) {
    return 'reserved';
  }
  return 'public';
}

function prefixMatches(b: Uint8Array, prefix: number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const bit = 7 - (i & 7);
    if (((b[byte] >> bit) & 1) !== (((prefix[byte] ?? 0) >> bit) & 1)) return false;
  }
  return true;
}

function embeddedV4(b: Uint8Array, offset: number): number {
  return ((b[offset] << 24) >>> 0) + (b[offset + 1] << 16) + (b[offset + 2] << 8) + b[offset + 3];
}

/** The class of an IPv6 address given as 16 bytes (IPv4-carrying forms by their IPv4 address). */
export function classifyIPv6(b: Uint8Array): AddressClass {
  if (METADATA_V6.has(v6Text(b))) return 'metadata';
  const zeros80 = b.slice(0, 10).every((x) => x === 0);
  if (zeros80 && b[10] === 0xff && b[11] === 0xff) return classifyIPv4(embeddedV4(b, 12)); // ::ffff:a.b.c.d mapped
  if (zeros80 && b[10] === 0 && b[11] === 0) {
    if (b.slice(12).every((x) => x === 0)) return 'unspecified'; // ::
    if (b.slice(12, 15).every((x) => x === 0) && b[15] === 1) return 'loopback'; // ::1
    return classifyIPv4(embeddedV4(b, 12)); // ::a.b.c.d (deprecated IPv4-compatible)
  }
  if (prefixMatches(b, [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0], 96)) return classifyIPv4(embeddedV4(b, 12)); // ::ffff:0:a.b.c.d (SIIT)
  if (prefixMatches(b, [0x00, 0x64, 0xff, 0x9b], 96)) return classifyIPv4(embeddedV4(b, 12)); // 64:ff9b::/96 NAT64
  if (prefixMatches(b, [0x20, 0x02], 16)) return classifyIPv4(embeddedV4(b, 2)); // 2002::/16 6to4
  if (prefixMatches(b, [0xfe, 0x80], 10)) return 'link-local';
  if (prefixMatches(b, [0xfe, 0xc0], 10)) return 'private'; // deprecated site-local
  if (prefixMatches(b, [0xfc], 7)) return 'unique-local';
  if (prefixMatches(b, [0xff], 8)) return 'multicast';
  if (
    prefixMatches(b, [0x20, 0x01, 0x0d, 0xb8], 32) || // documentation
    prefixMatches(b, [0x20, 0x01, 0x00, 0x00], 32) || // Teredo (its IPv4 is obfuscated)
    prefixMatches(b, [0x20, 0x01, 0x00, 0x02, 0, 0], 48) || // benchmarking
    prefixMatches(b, [0x20, 0x01, 0x00, 0x10], 28) || // ORCHID
    prefixMatches(b, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48) || // local-use NAT64
    prefixMatches(b, [0x01, 0, 0, 0, 0, 0, 0, 0], 64) || // discard-only
    prefixMatches(b, [0x3f, 0xff], 20) || // documentation (2024)
    !prefixMatches(b, [0x20], 3) // outside global unicast 2000::/3
  ) {
    return 'reserved';
  }
  return 'public';
}

/**
 * Classifies an IP address literal (either family, any accepted form). Returns undefined when
 * `text` is not an IP address (a host name).
 */
export function classifyAddress(text: string): ClassifiedAddress | undefined {
  const v6 = parseIPv6(text);
  if (v6) return { family: 6, address: v6Text(v6), kind: classifyIPv6(v6) };
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 4, address: v4Text(v4), kind: classifyIPv4(v4) };
  return undefined;
}

/** True when `text` is an IP address literal of a public (globally routable unicast) address. */
export function isPublicAddress(text: string): boolean {
  return classifyAddress(text)?.kind === 'public';
}
