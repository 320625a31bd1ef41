import { isIPv6 } from 'node:net';

export type PiiKind = 'email' | 'phone' | 'card' | 'iban' | 'ip' | 'secret';

const PLACEHOLDER: Record<PiiKind, string> = {
  email: '[EMAIL]',
  phone: '[PHONE]',
  card: '[CARD]',
  iban: '[IBAN]',
  ip: '[IP]',
  secret: '[SECRET]',
};

type Counts = Partial<Record<PiiKind, number>>;

interface Rule {
  kind: PiiKind;
  pattern: RegExp;
  /** Returns the replacement for a match, or null to leave it alone (failed checksum, not really PII). */
  replace?: (match: string, groups: string[]) => string | null;
}

/**
 * The rules run in this order: secrets first (so a token's digits are never read as a card or
 * a phone number), then IBANs and cards (checksummed), emails, IPv6 then IPv4 addresses (so an
 * IPv4-mapped IPv6 address is masked whole), and phone numbers last (the loosest shape). Every pattern is anchored by a look-behind and uses bounded
 * quantifiers, so the scan stays linear even on hostile input.
 */
const RULES: Rule[] = [
  { kind: 'secret', pattern: /-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[\s\S]{0,16384}?-----END [A-Z ]{0,40}PRIVATE KEY-----/g },
  {
    kind: 'secret',
    pattern:
      /(?<![\w-])(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,200}|gh[pousr]_[A-Za-z0-9]{20,200}|github_pat_[A-Za-z0-9_]{20,200}|xox[abposr]-[A-Za-z0-9-]{10,200}|xapp-[A-Za-z0-9-]{10,200}|(?:AKIA|ASIA)[A-Z0-9]{16}|AIza[0-9A-Za-z_-]{35})(?![\w-])/g,
  },
  { kind: 'secret', pattern: /(?<![\w.-])eyJ[A-Za-z0-9_-]{5,4096}\.[A-Za-z0-9_-]{5,4096}\.[A-Za-z0-9_-]{5,4096}(?![\w.-])/g },
  {
    kind: 'secret',
    pattern: /\b(Bearer\s{1,5})([A-Za-z0-9._~+/-]{8,4096}=*)/gi,
    replace: (_match, [prefix]) => `${prefix}${PLACEHOLDER.secret}`,
  },
  {
    kind: 'secret',
    pattern:
      /\b((?:api[_-]?key|access[_-]?key|secret[_-]?key|client[_-]?secret|private[_-]?key|auth[_-]?token|access[_-]?token|token|secret|password|passwd|pwd)["']?\s{0,5}[:=]\s{0,5}["']?)(?!\[)([^\s"',;]{4,4096})/gi,
    replace: (_match, [prefix]) => `${prefix}${PLACEHOLDER.secret}`,
  },
  { kind: 'secret', pattern: /(?<![\w-])[0-9a-fA-F]{32,4096}(?![\w-])/g },
  {
    kind: 'secret',
    pattern: /(?<![\w+/=-])[A-Za-z0-9+/_-]{40,4096}={0,2}(?![\w+/=-])/g,
    replace: (match) => (looksRandom(match) ? PLACEHOLDER.secret : null),
  },
  {
    kind: 'iban',
    pattern: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])/g,
    replace: (match) => (ibanValid(match) ? PLACEHOLDER.iban : null),
  },
  {
    kind: 'card',
    pattern: /(?<![\d.,-])\d(?:[ -]?\d){12,18}(?![\d.,]?\d)/g,
    replace: (match) => {
      const digits = match.replace(/\D/g, '');
      return digits.length >= 13 && digits.length <= 19 && luhnValid(digits) ? PLACEHOLDER.card : null;
    },
  },
  { kind: 'email', pattern: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}\b/g },
  {
    kind: 'ip',
    pattern: /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:]|\.\d)/g,
    // Plain prose like "a::b" is a valid address in theory; real ones carry a digit.
    replace: (match) => (/\d/.test(match) && isIPv6(match) ? PLACEHOLDER.ip : null),
  },
  {
    kind: 'ip',
    pattern: /(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)/g,
  },
  {
    kind: 'phone',
    pattern: /(?<![\w+])\+\d{1,3}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,4})){2,5}(?![\w-]|[. ]\d)/g,
    replace: (match) => phoneOrNull(match),
  },
  {
    kind: 'phone',
    pattern: /(?<![\w.+-])(?<!\d )(?:\(\d{2,4}\) ?|\d{2,4}[-. ])\d{3,4}[-. ]\d{3,4}(?![\w-]|[. ]\d)/g,
    replace: (match) => phoneOrNull(match),
  },
];

/** Cheap test: text without any of these cannot contain anything the rules mask. */
const MAYBE_SENSITIVE = /[\d@]|[:=]|sk-|gh[pousr]_|github_pat_|xox|xapp-|AKIA|ASIA|AIza|eyJ|bearer|BEGIN|[A-Za-z0-9+/_-]{40}/i;

export function maskPii(text: string): string {
  return maskPiiWithStats(text).text;
}

/** Masks personal data and secrets, and counts what was replaced, by kind. */
export function maskPiiWithStats(text: string): { text: string; counts: Counts } {
  const counts: Counts = {};
  if (!text || !MAYBE_SENSITIVE.test(text)) return { text, counts };
  let out = text;
  for (const rule of RULES) {
    rule.pattern.lastIndex = 0;
    out = out.replace(rule.pattern, (match: string, ...rest: unknown[]) => {
      const groups = rest.filter((item): item is string => typeof item === 'string');
      const replacement = rule.replace ? rule.replace(match, groups) : PLACEHOLDER[rule.kind];
      if (replacement === null) return match;
      counts[rule.kind] = (counts[rule.kind] ?? 0) + 1;
      return replacement;
    });
  }
  return { text: out, counts };
}

export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** ISO 13616: move the first four characters to the end, letters to numbers, mod 97 must be 1. */
export function ibanValid(iban: string): boolean {
  const compact = iban.replace(/ /g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(compact)) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const value = char >= 'A' ? String(char.charCodeAt(0) - 55) : char;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

function phoneOrNull(match: string): string | null {
  const digits = match.replace(/\D/g, '').length;
  return digits >= 7 && digits <= 15 ? PLACEHOLDER.phone : null;
}

/** A long run reads as a key rather than a word or a path when it mixes cases and digits. */
function looksRandom(run: string): boolean {
  if ((run.match(/\//g)?.length ?? 0) > 2) return false;
  return /[A-Z]/.test(run) && /[a-z]/.test(run) && /\d/.test(run);
}
