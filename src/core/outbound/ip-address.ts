import { isIP } from 'node:net';

/**
 * Which addresses an outbound fetch may connect to. Pure functions over the address text,
 * so the SSRF rules are tested over every range without sending a packet.
 */
export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

interface Range {
  bytes: number[];
  prefix: number;
  reason: string;
}

const v4 = (cidr: string, reason: string): Range => {
  const [address, prefix] = cidr.split('/');
  return { bytes: parseIPv4(address)!, prefix: Number(prefix), reason };
};
const v6 = (cidr: string, reason: string): Range => {
  const [address, prefix] = cidr.split('/');
  return { bytes: parseIPv6(address)!, prefix: Number(prefix), reason };
};

// Order matters where ranges nest: the most specific reason comes first.
const IPV4_BLOCKED: readonly Range[] = [
  v4('169.254.169.254/32', 'the cloud metadata address'),
  v4('0.0.0.0/8', 'an unspecified ("this network") address'),
  v4('10.0.0.0/8', 'a private address'),
  v4('100.64.0.0/10', 'a carrier-grade NAT (shared) address'),
  v4('127.0.0.0/8', 'a loopback address'),
  v4('169.254.0.0/16', 'a link-local address'),
  v4('172.16.0.0/12', 'a private address'),
  v4('192.0.0.0/24', 'an IETF protocol assignment address'),
  v4('192.0.2.0/24', 'a documentation address'),
  v4('192.88.99.0/24', 'a 6to4 relay anycast address'),
  v4('192.168.0.0/16', 'a private address'),
  v4('198.18.0.0/15', 'a benchmarking address'),
  v4('198.51.100.0/24', 'a documentation address'),
  v4('203.0.113.0/24', 'a documentation address'),
  v4('224.0.0.0/4', 'a multicast address'),
  v4('255.255.255.255/32', 'the broadcast address'),
  v4('240.0.0.0/4', 'a reserved address'),
];

const IPV6_BLOCKED: readonly Range[] = [
  v6('::/128', 'an unspecified address'),
  v6('::1/128', 'a loopback address'),
  v6('::ffff:0:0/96', 'an IPv4-mapped IPv6 address'),
  v6('::/96', 'an IPv4-compatible IPv6 address'),
  v6('64:ff9b::/96', 'a NAT64 address'),
  v6('64:ff9b:1::/48', 'a NAT64 address'),
  v6('100::/64', 'a discard-only address'),
  v6('2001::/32', 'a Teredo address'),
  v6('2001:db8::/32', 'a documentation address'),
  v6('2002::/16', 'a 6to4 address'),
  v6('fc00::/7', 'a unique-local (private) address'),
  v6('fe80::/10', 'a link-local address'),
  v6('fec0::/10', 'a site-local address'),
  v6('ff00::/8', 'a multicast address'),
];

/**
 * Classifies an IP address (v4 or v6, no brackets); `reason` completes "<address> is …".
 * Anything that is not an IP address is refused.
 */
export function classifyAddress(address: string): AddressVerdict {
  const family = isIP(address);
  const bytes = family === 4 ? parseIPv4(address) : family === 6 ? parseIPv6(address) : undefined;
  if (!bytes) return { allowed: false, reason: 'not an IP address' };
  for (const range of family === 4 ? IPV4_BLOCKED : IPV6_BLOCKED) {
    if (matches(bytes, range)) return { allowed: false, reason: range.reason };
  }
  return { allowed: true };
}

/** `a.b.c.d` → 4 bytes; undefined for anything else (no octal, hex or short forms: callers pass canonical text). */
export function parseIPv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((part) => (/^\d{1,3}$/.test(part) ? Number(part) : NaN));
  return bytes.every((byte) => byte >= 0 && byte <= 255) ? bytes : undefined;
}

/** An IPv6 address (with `::` and an optional dotted IPv4 tail; no zone id) → 16 bytes. */
export function parseIPv6(text: string): number[] | undefined {
  if (text.includes('%')) return undefined;
  let groups: string[];
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  let head = text;
  if (text.includes('.', lastColon)) {
    const v4bytes = parseIPv4(text.slice(lastColon + 1));
    if (!v4bytes) return undefined;
    tail = v4bytes;
    head = text.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const split = (part: string) => (part === '' ? [] : part.split(':'));
  const wanted = 8 - tail.length / 2;
  if (halves.length === 2) {
    const left = split(halves[0]);
    const right = split(halves[1]);
    const missing = wanted - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...Array<string>(missing).fill('0'), ...right];
  } else {
    groups = split(halves[0]);
  }
  if (groups.length !== wanted || !groups.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return undefined;
  const bytes = groups.flatMap((group) => {
    const value = parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
  return [...bytes, ...tail];
}

/** Whether `address` lies in `cidr` (`10.0.0.0/8`, `fd00::/8`, or a bare address); families never mix. */
export function cidrContains(cidr: string, address: string): boolean {
  const [base, prefixText] = cidr.split('/');
  const baseFamily = isIP(base);
  if (baseFamily === 0 || baseFamily !== isIP(address)) return false;
  const parse = baseFamily === 4 ? parseIPv4 : parseIPv6;
  const baseBytes = parse(base);
  const bytes = parse(address);
  if (!baseBytes || !bytes) return false;
  const prefix = prefixText === undefined ? baseBytes.length * 8 : Number(prefixText);
  return matches(bytes, { bytes: baseBytes, prefix, reason: '' });
}

function matches(bytes: number[], range: Range): boolean {
  let bits = range.prefix;
  for (let i = 0; bits > 0; i += 1, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i] & mask) !== (range.bytes[i] & mask)) return false;
  }
  return true;
}
