/**
 * Pure, dependency-free masking of personal data and secrets, applied to every stored
 * chat exchange. False positives matter as much as misses, so every candidate a
 * (linear-time, precompiled) regex finds is checked again in code: Luhn for cards, mod-97
 * and the issuing country for IBANs, octet ranges for IPv4, a strict parser for IPv6,
 * known national shapes for phones, character statistics for unlabelled secrets.
 *
 * Masking order: secrets (PEM blocks, prefixed tokens and JWTs, URL passwords, Bearer,
 * key=value, high-entropy runs) → IBAN → card → email → IP (IPv6, then IPv4) → phone. Secrets go
 * first because their values may contain anything below; IBAN before card because an
 * IBAN's digits can pass Luhn; card, email and IP before phone because phone shapes are
 * the loosest and would otherwise bite into them. No pattern matches a mask token, so a
 * second pass finds nothing new (idempotent).
 *
 * Linear time: each pattern starts behind a negative look-behind covering its own run
 * characters (a run is tried from its first character only), repetitions are unambiguous,
 * quoted values are bounded, and validating a run is linear in its length.
 */

export type PiiKind = 'email' | 'phone' | 'card' | 'iban' | 'ip' | 'secret';

type Counts = Partial<Record<PiiKind, number>>;

const MASK_TOKEN: Record<PiiKind, string> = {
  email: '[EMAIL]',
  phone: '[PHONE]',
  card: '[CARD]',
  iban: '[IBAN]',
  ip: '[IP]',
  secret: '[SECRET]',
};

/** Anything worth a closer look contains one of these; other text is returned untouched. */
const FAST_PATH = /[0-9@:=]|bearer|PRIVATE KEY|[A-Za-z0-9+/_-]{32}/i;

function bump(counts: Counts, kind: PiiKind): string {
  counts[kind] = (counts[kind] ?? 0) + 1;
  return MASK_TOKEN[kind];
}

function isMaskToken(v: string): boolean {
  return /^\[(?:EMAIL|PHONE|CARD|IBAN|IP|SECRET)\]$/.test(v);
}

// ---------------------------------------------------------------------------------------
// Validators

/** Luhn checksum over a string of digits only. */
export function luhnValid(digits: string): boolean {
  if (digits.length < 2 || !/^\d+$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** ISO 13616: two letters, two check digits, alphanumerics; 15–34 in all; mod 97 = 1. Spaces allowed. */
export function ibanValid(iban: string): boolean {
  const s = iban.replace(/ /g, '').toUpperCase();
  if (s.length < 15 || s.length > 34 || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(s)) return false;
  const rearranged = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    // a digit stays one digit, a letter becomes two (A = 10 … Z = 35)
    rem = c <= 57 ? (rem * 10 + (c - 48)) % 97 : (rem * 100 + (c - 55)) % 97;
  }
  return rem === 1;
}

/** Countries in the SWIFT IBAN registry: any other prefix is a product code, not an IBAN. */
const IBAN_COUNTRIES = new Set(
  (
    'AD AE AL AT AZ BA BE BG BH BI BR BY CH CR CY CZ DE DJ DK DO EE EG ES FI FK FO FR GB GE GI GL GR GT HN HR HU ' +
    'IE IL IQ IS IT JO KW KZ LB LC LI LT LU LV LY MC MD ME MK MN MR MT MU NI NL NO OM PK PL PS PT QA RO RS RU SA SC ' +
    'SD SE SI SK SM SO ST SV TL TN TR UA VA VG XK YE'
  ).split(' '),
);

const OCTET_RE = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function ipv4Valid(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => OCTET_RE.test(p));
}

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** RFC 4291 text form (full, compressed, IPv4-embedded); no zone, no brackets. */
function ipv6Valid(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  const lastColon = s.lastIndexOf(':');
  if (lastColon < 0) return false;
  let body = s;
  let extra = 0;
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!ipv4Valid(tail)) return false;
    body = s.slice(0, lastColon + 1) + '0'; // one stand-in group for the IPv4 tail's two
    extra = 1;
  }
  const dbl = body.indexOf('::');
  if (dbl >= 0) {
    if (body.indexOf('::', dbl + 1) >= 0) return false;
    const left = body.slice(0, dbl);
    const right = body.slice(dbl + 2);
    const groups = [...(left ? left.split(':') : []), ...(right ? right.split(':') : [])];
    return groups.every((g) => HEX_GROUP.test(g)) && groups.length + extra <= 7;
  }
  const groups = body.split(':');
  return groups.length + extra === 8 && groups.every((g) => HEX_GROUP.test(g));
}

// ---------------------------------------------------------------------------------------
// Secrets

const PEM_BEGIN = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/g;
const PEM_END = /-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----/g;
/** After an unterminated header: the base64 (or header) lines that follow it. */
const PEM_BODY = /(?:[ \t]*\r?\n[ \t]*[A-Za-z0-9+/=:,-]+)*/y;

function maskPem(text: string, counts: Counts): string {
  if (!text.includes('PRIVATE KEY-----')) return text;
  let out = '';
  let last = 0;
  PEM_BEGIN.lastIndex = 0;
  let end: RegExpExecArray | null = null;
  let endsExhausted = false;
  for (let begin = PEM_BEGIN.exec(text); begin; begin = PEM_BEGIN.exec(text)) {
    const bodyStart = begin.index + begin[0].length;
    // END markers are only ever searched forward, so many BEGINs without an END stay linear
    while (!endsExhausted && (!end || end.index < bodyStart)) {
      PEM_END.lastIndex = Math.max(end ? PEM_END.lastIndex : 0, bodyStart);
      end = PEM_END.exec(text);
      if (!end) endsExhausted = true;
    }
    let stop: number;
    if (end && end.index >= bodyStart) {
      stop = end.index + end[0].length;
    } else {
      PEM_BODY.lastIndex = bodyStart;
      PEM_BODY.exec(text);
      stop = PEM_BODY.lastIndex;
    }
    out += text.slice(last, begin.index) + bump(counts, 'secret');
    last = stop;
    PEM_BEGIN.lastIndex = stop;
  }
  return last === 0 ? text : out + text.slice(last);
}

/** Vendor tokens with a recognisable prefix, and JWTs; never started inside a longer word. */
const PREFIXED_TOKEN = new RegExp(
  '(?<![A-Za-z0-9_-])(?:' +
    [
      'sk-[A-Za-z0-9_-]{20,}', // OpenAI (sk-, sk-proj-), Anthropic (sk-ant-)
      'gh[pousr]_[A-Za-z0-9]{30,}', // GitHub classic tokens
      'github_pat_[A-Za-z0-9_]{30,}', // GitHub fine-grained
      'xox[abeoprs]-[A-Za-z0-9-]{10,}', // Slack bot, user, …
      'xapp-[A-Za-z0-9-]{10,}', // Slack app-level
      '(?:AKIA|ASIA)[A-Z0-9]{16}', // AWS access key id
      'AIza[A-Za-z0-9_-]{35}', // Google API key
      'eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{2,}\\.[A-Za-z0-9_-]+', // JWT
    ].join('|') +
    ')(?![A-Za-z0-9_-])',
  'g',
);

/** The password of a URL's user-info ("postgres://app:s3cret@db:5432/x"); the user name stays. */
const URL_CREDENTIALS = /(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{1,20}:\/\/[^\s:/?#@\[\]]{1,64}:)([^\s/?#@\[\]]{1,256})@/g;

const BEARER = /(?<![A-Za-z0-9_])(bearer[ \t]+)([A-Za-z0-9._~+/=-]{8,})/gi;

/** Key names whose value is a secret, compared lower-cased with separators removed. */
const SECRET_KEY = /(?:apikey|token|secret|password|passwd|pwd|accesskey|privatekey|passphrase)$/;
/** …except counters and tokenizer settings, common in an LLM service's conversations. */
const NOT_SECRET_KEY =
  /(?:max|min|num|total|count|limit|input|output|prompt|completion|eos|bos|pad|unk|sep|cls|mask|special|stop|start|end)tokens?$/;
/** Values that are type names, literals or redaction marks in code and config, not secrets. */
const CODE_VALUE =
  /^(?:string|str|number|int|integer|boolean|bool|null|nil|none|undefined|true|false|any|object|required|optional|secret|password|token|redacted|hidden|x+|\*+|\.+|-+)$/i;

/**
 * `key = value` / `key: value` / `"key": "value"`, in two steps so that a key that is not
 * secret costs nothing: first an identifier (≤ 64 chars) and its separator; then, for a
 * secret-looking key only, the value at that position: double- or single-quoted (≤ 512
 * chars) or running to whitespace, a quote, ',', ';' or '&'.
 */
const KEY_SEP = /(?<![A-Za-z0-9_])([A-Za-z][A-Za-z0-9_.-]{0,63})(["']?[ \t]*(?:=(?![=>~])|:(?!:))[ \t]*)/g;
const VALUE = /"([^"\r\n]{1,512})"|'([^'\r\n]{1,512})'|([^\s"'`,;&=:>][^\s"'`,;&]*)/y;

function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[_.-]/g, '');
  return SECRET_KEY.test(k) && !NOT_SECRET_KEY.test(k);
}

function looksLikeCode(value: string): boolean {
  return (
    CODE_VALUE.test(value) ||
    /^[[$<{%(]/.test(value) ||
    value.includes('(') ||
    /^(?:process\.env|os\.environ|env\.|self\.|this\.)/.test(value)
  );
}

function maskKeyValues(text: string, counts: Counts): string {
  let out = '';
  let last = 0;
  KEY_SEP.lastIndex = 0;
  for (let m = KEY_SEP.exec(text); m; m = KEY_SEP.exec(text)) {
    const key = m[1];
    if (!isSecretKey(key)) continue;
    const valueStart = m.index + m[0].length;
    VALUE.lastIndex = valueStart;
    const v = VALUE.exec(text);
    if (!v) continue;
    let start = valueStart;
    let end = valueStart + v[0].length;
    const quoted = v[1] ?? v[2];
    if (quoted !== undefined) {
      if (!quoted.trim() || isMaskToken(quoted) || looksLikeCode(quoted)) continue;
      start += 1; // keep the quotes
      end -= 1;
    } else {
      let value = v[3];
      const trail = /[.)\]}>]+$/.exec(value)?.[0] ?? '';
      if (trail && trail.length < value.length) {
        value = value.slice(0, -trail.length);
        end -= trail.length;
      }
      if (isMaskToken(value) || looksLikeCode(value)) continue;
      // the shell's PWD / OLDPWD hold a directory, not a password
      if (/pwd$/i.test(key) && /^[/~]/.test(value)) continue;
      // "Password: Your password must…" is prose; "password: sunshine" is not
      if (m[2].includes(':') && /^[A-Za-z]+$/.test(value) && /^ [A-Za-z]/.test(text.slice(end, end + 2))) continue;
    }
    out += text.slice(last, start) + bump(counts, 'secret');
    last = end;
    KEY_SEP.lastIndex = Math.max(KEY_SEP.lastIndex, end);
  }
  return last === 0 ? text : out + text.slice(last);
}

/**
 * A run of base64 / base64url / hex characters, tried from its first character only. '.'
 * and '@' bound it on both sides, so dotted names, URL hosts and e-mail local parts are
 * not cut into.
 */
const HIGH_ENTROPY = /(?<![A-Za-z0-9+/_.@-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_@=-])/g;
const HEX_RUN = /^[0-9a-fA-F]+$/;

/** Share of characters sitting in runs of ≥ 4 letters of the same case ("Verification", "CONFIG"). */
function wordyShare(s: string): number {
  let wordy = 0;
  let runStart = 0;
  let runCase = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0;
    const cs = c >= 97 && c <= 122 ? 1 : c >= 65 && c <= 90 ? 2 : 0;
    if (cs !== runCase) {
      if (runCase !== 0 && i - runStart >= 4) wordy += i - runStart;
      runStart = i;
      runCase = cs;
    }
  }
  return wordy / s.length;
}

/** Shannon entropy in bits per character. */
function entropy(s: string): number {
  const freq = new Map<string, number>();
  for (const ch of s) freq.set(ch, (freq.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of freq.values()) h -= (n / s.length) * Math.log2(n / s.length);
  return h;
}

function isHighEntropy(run: string): boolean {
  const token = run.replace(/=+$/, '');
  // ≥ 32 hex characters with letters and digits (a key, a hash), alone or as one segment
  for (const seg of token.replace(/^0x/, '').split(/[-_/+]/)) {
    if (seg.length >= 32 && HEX_RUN.test(seg) && /\d/.test(seg) && /[a-fA-F]/.test(seg)) return true;
  }
  if (token.length < 40 || !/[A-Z]/.test(token) || !/[a-z]/.test(token) || !/\d/.test(token)) return false;
  // paths and snake/kebab identifiers have many separators; random base64 about 3 %
  let separators = 0;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122))) separators++;
  }
  if (separators * 10 > token.length) return false;
  // identifiers are made of words; in random base64 ~14 % of characters sit in same-case
  // runs of four or more, and 99.8 % of 40–100 character keys stay under 45 %
  if (wordyShare(token) >= 0.45) return false;
  return entropy(token) >= 4; // rules out short repeated patterns ("A1b2A1b2…")
}

function maskSecrets(text: string, counts: Counts): string {
  let out = maskPem(text, counts);
  out = out.replace(PREFIXED_TOKEN, (m) => {
    // "sk-" also starts kebab-case words: a key has digits and letters after it
    if (m.startsWith('sk-') && !(/\d/.test(m.slice(3)) && /[A-Za-z]/.test(m.slice(3)))) return m;
    return bump(counts, 'secret');
  });
  if (out.includes('://')) {
    out = out.replace(URL_CREDENTIALS, (m, prefix: string, password: string) =>
      isMaskToken(password) ? m : `${prefix}${bump(counts, 'secret')}@`,
    );
  }
  if (/bearer/i.test(out)) {
    out = out.replace(BEARER, (m, prefix: string, token: string) => {
      const trail = /\.+$/.exec(token)?.[0] ?? '';
      const t = token.slice(0, token.length - trail.length);
      if (t.length < 8) return m;
      // a token has a digit, a symbol or inner capitals; a word ("Bearer authentication") has none
      if (!/[\d._~+/=-]/.test(t) && !/[A-Z]/.test(t.slice(1))) return m;
      return prefix + bump(counts, 'secret') + trail;
    });
  }
  if (out.includes('=') || out.includes(':')) out = maskKeyValues(out, counts);
  return out.replace(HIGH_ENTROPY, (m) => (isHighEntropy(m) ? bump(counts, 'secret') : m));
}

// ---------------------------------------------------------------------------------------
// IBAN

/** Country, check digits, then alphanumerics optionally separated by single spaces. */
const IBAN_RUN = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9])+/g;

function maskIbans(text: string, counts: Counts): string {
  return text.replace(IBAN_RUN, (m, offset: number, whole: string) => {
    if (!IBAN_COUNTRIES.has(m.slice(0, 2))) return m;
    const nextIsWord = /^[a-z0-9_]/i.test(whole.charAt(offset + m.length));
    if (!m.includes(' ')) return !nextIsWord && ibanValid(m) ? bump(counts, 'iban') : m;
    // grouped: the run may have swallowed what follows ("… 0130 00 EUR"); take the longest valid prefix
    const groups = m.split(' ');
    let len = 0;
    let best = -1;
    for (let i = 0; i < groups.length; i++) {
      len += groups[i].length;
      if (len > 34) break;
      if (len >= 15 && ibanValid(groups.slice(0, i + 1).join(''))) best = i;
    }
    if (best < 0 || (best === groups.length - 1 && nextIsWord)) return m;
    const rest = groups.slice(best + 1).join(' ');
    return bump(counts, 'iban') + (rest ? ' ' + rest : '');
  });
}

// ---------------------------------------------------------------------------------------
// Cards

/** A run of digits joined by single spaces or dashes; cards are looked for inside it. */
const DIGIT_RUN = /(?<![A-Za-z0-9_.,+-])\d(?:[ -]?\d)*/g;

/** Printed groupings: 4-4-4-4, 19 digits 4-4-4-4-3, Amex 4-6-5, Diners 4-6-4, 4-4-4-3. */
const CARD_SHAPES: readonly (readonly number[])[] = [
  [4, 4, 4, 4],
  [4, 4, 4, 4, 3],
  [4, 6, 5],
  [4, 6, 4],
  [4, 4, 4, 3],
];

interface CardCandidate {
  first: number;
  last: number;
  score: number;
}

/**
 * A digit run can hold a card next to other numbers ("415-555-2671 4111 1111 1111 1111").
 * Every Luhn-valid window that is a plain 13–19 digit number or has a card's grouping is a
 * candidate; overlaps are settled by score: an issuer digit 2–6 first, then alignment
 * with the run's separator changes (ending where its stretch ends, then starting where it
 * starts).
 */
function maskCards(text: string, counts: Counts): string {
  return text.replace(DIGIT_RUN, (run, offset: number, whole: string) => {
    if (run.length < 13) return run;
    const groups = run.split(/[ -]/);
    const n = groups.length;
    const seps: string[] = [];
    for (let i = 0, p = 0; i < n - 1; i++) {
      p += groups[i].length;
      seps.push(run[p]);
      p += 1;
    }
    // "4111111111111111.25" is an amount, "4111111111111111abc" an identifier
    const endBlocked = /^(?:[.,]\d|[A-Za-z_])/.test(whole.slice(offset + run.length, offset + run.length + 2));
    const issuer = (digits: string): number => (digits[0] >= '2' && digits[0] <= '6' ? 10 : 0);
    const candidates: CardCandidate[] = [];
    for (let i = 0; i < n; i++) {
      const g = groups[i];
      if (g.length >= 13 && g.length <= 19) {
        if (!(i === n - 1 && endBlocked) && luhnValid(g)) candidates.push({ first: i, last: i, score: issuer(g) + 3 });
        continue;
      }
      if (g.length !== 4) continue;
      for (const shape of CARD_SHAPES) {
        const j = i + shape.length - 1;
        if (j >= n || (j === n - 1 && endBlocked)) continue;
        let ok = true;
        for (let k = 1; k < shape.length && ok; k++) ok = groups[i + k].length === shape[k] && seps[i + k - 1] === seps[i];
        if (!ok) continue;
        const digits = groups.slice(i, j + 1).join('');
        if (!luhnValid(digits)) continue;
        const startAligned = i === 0 || seps[i - 1] !== seps[i] ? 1 : 0;
        const endAligned = j === n - 1 || seps[j] !== seps[i] ? 2 : 0;
        candidates.push({ first: i, last: j, score: issuer(digits) + startAligned + endAligned });
      }
    }
    if (candidates.length === 0) return run;
    candidates.sort((a, b) => b.score - a.score || a.first - b.first || b.last - a.last);
    const taken = new Uint8Array(n);
    const chosen: CardCandidate[] = [];
    for (const c of candidates) {
      let free = true;
      for (let k = c.first; k <= c.last && free; k++) free = taken[k] === 0;
      if (!free) continue;
      taken.fill(1, c.first, c.last + 1);
      chosen.push(c);
    }
    chosen.sort((a, b) => a.first - b.first);
    let out = '';
    let g = 0;
    for (const c of chosen) {
      for (; g < c.first; g++) out += groups[g] + seps[g];
      out += bump(counts, 'card');
      g = c.last + 1;
      if (c.last < n - 1) out += seps[c.last];
    }
    for (; g < n; g++) out += groups[g] + (g < n - 1 ? seps[g] : '');
    return out;
  });
}

// ---------------------------------------------------------------------------------------
// Email

const EMAIL =
  /(?<![A-Za-z0-9._%+-])[A-Za-z0-9_%+-](?:[A-Za-z0-9._%+-]*[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?![A-Za-z0-9-])/g;

// ---------------------------------------------------------------------------------------
// IP addresses

/** Hex digits, colons and dots holding at least one colon, tried from its first character. */
const IPV6_RUN = /(?<![A-Za-z0-9_:.])[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*/g;
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`(?<![A-Za-z0-9_.])${OCTET}(?:\\.${OCTET}){3}(?![A-Za-z0-9_]|\\.\\d)`, 'g');

/** "a::b", "Abc::Def", "dead::beef" are prose or C++ scopes: an address has a digit and some substance. */
function plausibleIpv6(addr: string): boolean {
  if (!/\d/.test(addr)) return false;
  if (!addr.includes('::')) return true; // full form, eight groups
  if (addr.startsWith('::')) return addr.length > 2;
  return addr.split(/:+/).some((g) => g.length >= 3);
}

function maskIps(text: string, counts: Counts): string {
  let out = text;
  if (out.includes(':')) {
    out = out.replace(IPV6_RUN, (run, offset: number, whole: string) => {
      if (/[A-Za-z0-9_]/.test(whole.charAt(offset + run.length))) return run;
      if (ipv6Valid(run) && plausibleIpv6(run)) return bump(counts, 'ip');
      // trailing sentence punctuation ("ping ::1.", "at fe80::1:") is not part of it
      const trail = /[.:]$/.exec(run)?.[0];
      if (!trail || run.endsWith('::')) return run;
      const addr = run.slice(0, -1);
      return ipv6Valid(addr) && plausibleIpv6(addr) ? bump(counts, 'ip') + trail : run;
    });
  }
  if (out.includes('.')) out = out.replace(IPV4, () => bump(counts, 'ip'));
  return out;
}

// ---------------------------------------------------------------------------------------
// Phones

/**
 * A phone-shaped run: optional '+', then digit groups or parenthesised groups joined by a
 * single space, dot or dash (or by nothing right after a ')'). Each step starts with a
 * different character, so the run never backtracks; shapes are checked in code.
 */
const PHONE_RUN = /(?<![A-Za-z0-9_.,/+@-])(?:\+ ?)?(?:\(\d+\)|\d+)(?:[ .-]?\(\d+\)|[ .-]\d+|(?<=\))\d+)*/g;

interface PhoneGroup {
  digits: string;
  paren: boolean;
  sep: string; // separator before the group: '' for the first one and right after a ')'
}

function parsePhone(s: string): PhoneGroup[] | null {
  let i = s[0] === '+' ? (s[1] === ' ' ? 2 : 1) : 0;
  const groups: PhoneGroup[] = [];
  let sep = '';
  while (i < s.length) {
    const paren = s[i] === '(';
    if (paren) i++;
    const start = i;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    if (i === start || (paren && s[i] !== ')')) return null;
    groups.push({ digits: s.slice(start, i), paren, sep });
    if (paren) i++;
    sep = s[i] === ' ' || s[i] === '.' || s[i] === '-' ? s[i++] : '';
  }
  return groups.length ? groups : null;
}

function phoneValid(s: string): boolean {
  if (s.length > 30) return false;
  const groups = parsePhone(s);
  if (!groups) return false;
  const total = groups.reduce((n, g) => n + g.digits.length, 0);
  if (total < 7 || total > 15) return false;
  if (s[0] === '+') return !/^\+\d{4}-\d{2}-\d{2}$/.test(s); // "+2024-01-15" is a date
  return nanp(groups) || trunkPrefixed(groups, total);
}

/** North American: [1] 3-3-4 with one separator throughout, or "(415) 555-2671". */
function nanp(all: PhoneGroup[]): boolean {
  const groups = all.length === 4 && all[0].digits === '1' && !all[0].paren ? all.slice(1) : all;
  if (groups.length !== 3) return false;
  const [a, b, c] = groups;
  if (a.digits.length !== 3 || b.digits.length !== 3 || c.digits.length !== 4 || b.paren || c.paren) return false;
  if (a.paren) return (b.sep === ' ' || b.sep === '') && c.sep !== '';
  const seps = all.slice(1).map((g) => g.sep);
  return seps.every((x) => x !== '' && x === seps[0]);
}

/** National numbers with a trunk '0': "020 7946 0958", "0161 496 0000", "030-1234567", "06 12 34 56 78". */
function trunkPrefixed(groups: PhoneGroup[], total: number): boolean {
  const [first, ...rest] = groups;
  if (!first.digits.startsWith('0') || first.digits.length < 2 || first.digits.length > 5) return false;
  if (rest.length === 0 || rest.some((g) => g.paren) || total < 9 || total > 12) return false;
  if (first.paren && rest[0].sep !== ' ' && rest[0].sep !== '') return false;
  const sep = first.paren ? ' ' : rest[0].sep;
  if (rest.slice(first.paren ? 1 : 0).some((g) => g.sep !== sep)) return false;
  if (groups.length === 5 && groups.every((g) => g.digits.length === 2)) return sep === ' ' || sep === '.'; // French pairs
  if (sep === '.') return false;
  if (rest.length === 1) return rest[0].digits.length >= 5 && rest[0].digits.length <= 8;
  if (rest.length > 3 || rest.some((g) => g.digits.length < 3 || g.digits.length > 4)) return false;
  // four-digit blocks throughout are account or card fragments, not phone numbers
  return !groups.every((g) => g.digits.length === 4);
}

function countDigits(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) n++;
  return n;
}

function maskPhones(text: string, counts: Counts): string {
  return text.replace(PHONE_RUN, (run, offset: number, whole: string) => {
    if (run.length < 7) return run;
    const endOk = !/[A-Za-z0-9_@%]/.test(whole.charAt(offset + run.length));
    if (endOk && phoneValid(run)) return bump(counts, 'phone');
    // the run may join a phone to neighbouring numbers ("on 2024-01-15 415 555 2671")
    const chunks = run.split(' ');
    if (chunks.length < 2) return run;
    const digitsBefore = [0]; // digitsBefore[k]: digits in chunks[0..k)
    for (const chunk of chunks) digitsBefore.push(digitsBefore[digitsBefore.length - 1] + countDigits(chunk));
    // Only these windows can pass phoneValid: one chunk, a '+', '(' or trunk '0' start, or
    // space-separated [1] 3-3-4 digits; the check keeps long runs of numbers cheap.
    const plausible = (i: number, size: number): boolean => {
      const head = chunks[i];
      if (size === 1 || head[0] === '+' || head[0] === '(' || head[0] === '0') return true;
      const nanpAt = head === '1' && size === 4 ? i + 1 : size === 3 ? i : -1;
      return nanpAt >= 0 && /^\d{3}$/.test(chunks[nanpAt]) && /^\d{3}$/.test(chunks[nanpAt + 1]) && /^\d{4}$/.test(chunks[nanpAt + 2]);
    };
    let out = '';
    let changed = false;
    for (let i = 0; i < chunks.length; ) {
      let taken = 0;
      for (let size = Math.min(6, chunks.length - i); size >= 1 && !taken; size--) {
        if ((i + size === chunks.length && !endOk) || (i === 0 && size === chunks.length)) continue;
        const digits = digitsBefore[i + size] - digitsBefore[i];
        if (digits < 7 || digits > 15 || !plausible(i, size)) continue;
        if (phoneValid(chunks.slice(i, i + size).join(' '))) taken = size;
      }
      if (i > 0) out += ' ';
      if (taken) {
        out += bump(counts, 'phone');
        changed = true;
        i += taken;
      } else {
        out += chunks[i++];
      }
    }
    return changed ? out : run;
  });
}

// ---------------------------------------------------------------------------------------
// Entry points

/** Same as {@link maskPii}, and reports how many of each kind were replaced. */
export function maskPiiWithStats(text: string): { text: string; counts: Partial<Record<PiiKind, number>> } {
  const counts: Counts = {};
  if (text.length < 3 || !FAST_PATH.test(text)) return { text, counts };
  let out = maskSecrets(text, counts);
  if (/\d/.test(out)) {
    out = maskIbans(out, counts);
    out = maskCards(out, counts);
  }
  if (out.includes('@')) out = out.replace(EMAIL, () => bump(counts, 'email'));
  out = maskIps(out, counts);
  if (/\d/.test(out)) out = maskPhones(out, counts);
  return { text: out, counts };
}

/** Replaces personal data and secrets with mask tokens: [EMAIL], [PHONE], [CARD], [IBAN], [IP], [SECRET]. */
export function maskPii(text: string): string {
  return maskPiiWithStats(text).text;
}
