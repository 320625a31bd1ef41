import { ibanValid, luhnValid, maskPii, maskPiiWithStats } from '../../src/common/pii/pii-masker';

/** Builds JWT-shaped strings at run time, so no token literal sits in the source. */
function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
const JWT = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: '1234567890', name: 'Jane', iat: 1516239022 })}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c`;

/** Deterministic pseudo-random strings, so the suite never depends on Math.random. */
function pseudoRandom(alphabet: string, length: number, seed: number): string {
  let x = seed;
  let out = '';
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out += alphabet[(x >>> 8) % alphabet.length];
  }
  return out;
}
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const HEX = '0123456789abcdef';

describe('maskPii', () => {
  it('masks an email and a card in the same prompt', () => {
    expect(maskPii('mail jane.doe@example.com, card 4111 1111 1111 1111')).toBe('mail [EMAIL], card [CARD]');
  });

  describe('emails', () => {
    it.each([
      ['jane.doe@example.com', '[EMAIL]'],
      ['write to jane+newsletter@example.com today', 'write to [EMAIL] today'],
      ['ops@mail.eu.example.co.uk', '[EMAIL]'],
      ['first_last-99@sub.domain.io.', '[EMAIL].'],
      ['<JANE@EXAMPLE.ORG>', '<[EMAIL]>'],
      ['mailto:a.b@c-d.example.com?subject=x', 'mailto:[EMAIL]?subject=x'],
      ['a@b.co and c@d.de', '[EMAIL] and [EMAIL]'],
    ])('masks %j', (input, expected) => {
      expect(maskPii(input)).toBe(expected);
    });

    it.each([
      'user@localhost',
      'name@example.c',
      'the @ sign',
      'foo@bar',
      'npm i @nestjs/common@12.5.1',
      'git@ is a prefix',
      'a@1.2.3.4x',
    ])('leaves %j alone', (input) => {
      expect(maskPii(input)).toBe(input);
    });
  });

  describe('phones', () => {
    it.each([
      ['+1 (415) 555-2671', '[PHONE]'],
      ['+44 20 7946 0958', '[PHONE]'],
      ['+49-30-123456', '[PHONE]'],
      ['+14155552671', '[PHONE]'],
      ['+33 6 12 34 56 78', '[PHONE]'],
      ['call (415) 555-2671 now', 'call [PHONE] now'],
      ['(415)555-2671', '[PHONE]'],
      ['415-555-2671', '[PHONE]'],
      ['415.555.2671', '[PHONE]'],
      ['415 555 2671', '[PHONE]'],
      ['1-800-555-0199', '[PHONE]'],
      ['020 7946 0958', '[PHONE]'],
      ['(020) 7946 0958', '[PHONE]'],
      ['0161 496 0000', '[PHONE]'],
      ['030-1234567', '[PHONE]'],
      ['06 12 34 56 78', '[PHONE]'],
      ['Tel: +44 20 7946 0958.', 'Tel: [PHONE].'],
      ['tel:+14155552671', 'tel:[PHONE]'],
      ['on 2024-01-15 call 415-555-2671', 'on 2024-01-15 call [PHONE]'],
      ['on 2024-01-15 415 555 2671', 'on 2024-01-15 [PHONE]'],
      ['phones: 415-555-2671, 020 7946 0958', 'phones: [PHONE], [PHONE]'],
    ])('masks %j', (input, expected) => {
      expect(maskPii(input)).toBe(expected);
    });

    it.each([
      ['ISO date', '2024-01-15'],
      ['date and time', '2024-01-15 12:30:45'],
      ['ISO timestamp', '2024-01-15T10:20:30.123Z'],
      ['European date', '15.01.2024'],
      ['US date', '01-15-2024'],
      ['time', '12:30:45'],
      ['semver', '1.2.3'],
      ['version with v', 'v10.4.1'],
      ['versions', 'node 20.19.0 and nest 12.5.1'],
      ['year', 'in 2024'],
      ['year range', '1990-2024'],
      ['short number', 'room 12345'],
      ['amount', '1,234.56'],
      ['big amount', '$1,234,567.89'],
      ['thousands with spaces', '1 234 567'],
      ['IPv4', '192.168.1.20'],
      ['plain 16 digits', '1234567812345678'],
      ['Luhn-valid 16 digits (a card)', '4111111111111111'],
      ['Luhn-invalid card', '4111 1111 1111 1112'],
      ['percentage', '+12.5%'],
      ['small numbers', '12 34 56 78 90'],
      ['range', 'between 200-1000 tokens'],
      ['seven digits', '555-2671'],
      ['order number', 'order #123456789'],
      ['UUID', '550e8400-e29b-41d4-a716-446655440000'],
      ['score', 'won 3-2'],
      ['invalid IBAN', 'DE89 3704 0044 0532 0130 01'],
    ])('does not read a %s as a phone: %j', (_label, input) => {
      expect(maskPii(input)).not.toContain('[PHONE]');
    });
  });

  describe('cards', () => {
    it.each([
      ['4111 1111 1111 1111', '[CARD]'],
      ['4111-1111-1111-1111', '[CARD]'],
      ['4111111111111111', '[CARD]'],
      ['5500 0000 0000 0004', '[CARD]'],
      ['Amex 3782 822463 10005.', 'Amex [CARD].'],
      ['378282246310005', '[CARD]'],
      ['6011111111111117', '[CARD]'],
      ['4222222222222', '[CARD]'],
      ['1234567812345670', '[CARD]'],
      ['cards 4111111111111111 and 5555 5555 5555 4444', 'cards [CARD] and [CARD]'],
      ['(4111 1111 1111 1111)', '([CARD])'],
      ['4111 1111 1111 1111 123 12/27', '[CARD] 123 12/27'],
      ['call 415-555-2671 4111 1111 1111 1111', 'call [PHONE] [CARD]'],
    ])('masks %j', (input, expected) => {
      expect(maskPii(input)).toBe(expected);
    });

    it.each([
      '4111 1111 1111 1112',
      '4111111111111112',
      '1234 5678 9012 3456',
      '4111111111111111.25',
      '0.4111111111111111',
      '4111111111111111abc',
      '12345678901234567890123',
    ])('leaves %j alone', (input) => {
      expect(maskPii(input)).toBe(input);
    });
  });

  describe('IBANs', () => {
    it.each([
      ['DE89 3704 0044 0532 0130 00', '[IBAN]'],
      ['DE89370400440532013000', '[IBAN]'],
      ['GB82WEST12345698765432', '[IBAN]'],
      ['GB82 WEST 1234 5698 7654 32', '[IBAN]'],
      ['FR14 2004 1010 0505 0001 3M02 606', '[IBAN]'],
      ['NL91ABNA0417164300', '[IBAN]'],
      ['pay to DE89 3704 0044 0532 0130 00 EUR 12', 'pay to [IBAN] EUR 12'],
      ['IBAN: GB82WEST12345698765432.', 'IBAN: [IBAN].'],
    ])('masks %j', (input, expected) => {
      expect(maskPii(input)).toBe(expected);
    });

    it.each([
      'DE89 3704 0044 0532 0130 01',
      'GB82WEST12345698765433',
      'XX82WEST12345698765432',
      'AB12CDEF34567890',
      'SKU ZZ99ABCDEFGHIJKL',
    ])('leaves %j alone', (input) => {
      expect(maskPii(input)).not.toContain('[IBAN]');
    });
  });

  describe('IP addresses', () => {
    it.each([
      ['192.168.1.20', '[IP]'],
      ['host 10.0.0.1:8080', 'host [IP]:8080'],
      ['0.0.0.0 and 255.255.255.255', '[IP] and [IP]'],
      ['net 10.0.0.0/8.', 'net [IP]/8.'],
      ['2001:db8::1', '[IP]'],
      ['2001:0db8:85a3:0000:0000:8a2e:0370:7334', '[IP]'],
      ['::1', '[IP]'],
      ['fe80::1', '[IP]'],
      ['fe80::1ff:fe23:4567:890a%eth0', '[IP]%eth0'],
      ['::ffff:192.0.2.1', '[IP]'],
      ['[2001:db8::1]:443', '[[IP]]:443'],
      ['listen on ::1.', 'listen on [IP].'],
      ['bound to 2001:db8::7: ok', 'bound to [IP]: ok'],
    ])('masks %j', (input, expected) => {
      expect(maskPii(input)).toBe(expected);
    });

    it.each([
      '999.1.1.1',
      '1.2.3.4.5',
      '256.1.1.1',
      '1.2.3',
      '01.02.03.04',
      '12:30',
      '10:20:30',
      '2024-01-15T10:20:30Z',
      'a::b',
      'std::vector<int>',
      'Foo::Bar::baz()',
      'dead::beef',
      '00:1A:2B:3C:4D:5E',
      '1::2:3:4:5:6:7:8:9',
      'ratio 3:2',
      'v1.2.3.4',
    ])('leaves %j alone', (input) => {
      expect(maskPii(input)).not.toContain('[IP]');
    });
  });

  describe('secrets', () => {
    it.each([
      ['OpenAI', 'key sk-abcdefghijklmnopqrstuvwxyz0123456789ABCD', 'key [SECRET]'],
      ['OpenAI project', 'sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z', '[SECRET]'],
      ['Anthropic', 'sk-ant-api03-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z-AAAA', '[SECRET]'],
      ['GitHub classic', 'ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8', '[SECRET]'],
      ['GitHub OAuth', 'gho_16C7e42F292c6912E7710c838347Ae178B4a', '[SECRET]'],
      ['GitHub user-to-server', 'ghu_16C7e42F292c6912E7710c838347Ae178B4a', '[SECRET]'],
      ['GitHub server-to-server', 'ghs_16C7e42F292c6912E7710c838347Ae178B4a', '[SECRET]'],
      ['GitHub refresh', 'ghr_16C7e42F292c6912E7710c838347Ae178B4a', '[SECRET]'],
      ['GitHub fine-grained', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz', '[SECRET]'],
      ['Slack bot', 'xoxb-1234567890-0987654321-AbCdEfGhIjKl', '[SECRET]'],
      ['Slack user', 'xoxp-1234567890-0987654321-AbCdEfGhIjKl', '[SECRET]'],
      ['Slack app', 'xapp-1-A0123456789-1234567890-abcdef', '[SECRET]'],
      ['AWS key id', 'aws AKIAIOSFODNN7EXAMPLE here', 'aws [SECRET] here'],
      ['AWS session key id', 'ASIAY34FZKBOKMUTVV7A', '[SECRET]'],
      ['Google', 'AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI', '[SECRET]'],
      ['JWT', `token ${JWT} end`, 'token [SECRET] end'],
      ['Bearer', 'Authorization: Bearer abc123.def456-ghi789', 'Authorization: Bearer [SECRET]'],
      ['Bearer JWT', `Authorization: Bearer ${JWT}`, 'Authorization: Bearer [SECRET]'],
      ['lowercase bearer', 'bearer AbCdEfGhIjKlMn', 'bearer [SECRET]'],
      ['api_key=', 'api_key=abc123', 'api_key=[SECRET]'],
      ['API_KEY= in .env', 'OPENAI_API_KEY=hello-world-42', 'OPENAI_API_KEY=[SECRET]'],
      ['apikey:', 'apikey: zz9plural', 'apikey: [SECRET]'],
      ['X-Api-Key header', 'X-Api-Key: 0a1b2c', 'X-Api-Key: [SECRET]'],
      ['token=', 'token=abcdef', 'token=[SECRET]'],
      ['access_token in a URL', 'https://x.test/cb?access_token=abc123&state=1', 'https://x.test/cb?access_token=[SECRET]&state=1'],
      ['SECRET:', 'SECRET: s3cr3t!', 'SECRET: [SECRET]'],
      ['password:', 'password: hunter2', 'password: [SECRET]'],
      ['password: a lone word', 'password: sunshine', 'password: [SECRET]'],
      ['passwd with a quoted phrase', 'passwd = "my pass phrase"', 'passwd = "[SECRET]"'],
      ['PASSWORD quoted', 'PASSWORD: "correct horse"', 'PASSWORD: "[SECRET]"'],
      ['pwd single-quoted', "pwd: 'x1'", "pwd: '[SECRET]'"],
      ['access_key', 'access_key = AbC123', 'access_key = [SECRET]'],
      ['client_secret in JSON', '{"client_secret": "abc-123"}', '{"client_secret": "[SECRET]"}'],
      ['private_key', 'private_key: k3y', 'private_key: [SECRET]'],
      ['camelCase keys', 'const cfg = { clientSecret: "abc", apiKey: "def" }', 'const cfg = { clientSecret: "[SECRET]", apiKey: "[SECRET]" }'],
      ['DB_PASSWORD, sentence end', 'DB_PASSWORD=postgres123.', 'DB_PASSWORD=[SECRET].'],
      ['aws_secret_access_key', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'aws_secret_access_key = [SECRET]'],
      ['URL password', 'DATABASE_URL postgres://app:s3cr3t@db.internal:5432/vega', 'DATABASE_URL postgres://app:[SECRET]@db.internal:5432/vega'],
      ['URL password with symbols', 'redis://default:p%40ss!w0rd@127.0.0.1:6379', 'redis://default:[SECRET]@[IP]:6379'],
      ['32 hex (MD5)', 'hash d41d8cd98f00b204e9800998ecf8427e end', 'hash [SECRET] end'],
      ['0x-prefixed 64 hex', `priv 0x${pseudoRandom(HEX, 64, 9)}`, 'priv [SECRET]'],
      ['40 hex', `sha ${pseudoRandom(HEX, 40, 7)}`, 'sha [SECRET]'],
      ['base64', `value ${pseudoRandom(B64, 44, 11)}`, 'value [SECRET]'],
      ['base64url', `v=${pseudoRandom(B64URL, 48, 5)}`, 'v=[SECRET]'],
      ['base64 with padding', 'blob Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MEFCQ0RFRkdISUpLTE1O== end', 'blob [SECRET] end'],
      [
        'PEM private key',
        '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc+/==\n-----END RSA PRIVATE KEY-----\nafter',
        '[SECRET]\nafter',
      ],
      ['PEM (PKCS#8)', 'x -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- y', 'x [SECRET] y'],
      ['PEM unterminated', 'k: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI\nAbCd==\n\nthat was it', 'k: [SECRET]\n\nthat was it'],
    ])('masks %s', (_label, input, expected) => {
      expect(maskPii(input)).toBe(expected);
    });

    it.each([
      ['UUID', '550e8400-e29b-41d4-a716-446655440000'],
      ['uppercase UUID', '550E8400-E29B-41D4-A716-446655440000'],
      ['two UUIDs', '550e8400-e29b-41d4-a716-446655440000/123e4567-e89b-12d3-a456-426614174000'],
      ['short sk-', 'sk-learn is a library'],
      ['sk- words', 'sk-this-is-just-a-long-kebab-case-name'],
      ['Bearer in prose', 'Bearer authentication is described in RFC 6750.'],
      ['Bearer tokens', 'Use Bearer tokens.'],
      ['max_tokens', 'max_tokens: 512'],
      ['max_token', 'max_token=1024'],
      ['eos_token', 'eos_token: </s>'],
      ['num_tokens', 'num_tokens = 3'],
      ['password prose', 'Password: Your password must be 12 characters.'],
      ['password type', 'password: string;'],
      ['password None', 'password = None'],
      ['env reference', 'token: process.env.TOKEN'],
      ['template', 'password=${DB_PASSWORD}'],
      ['comparison', 'if (password === input)'],
      ['arrow function', 'token => token.trim()'],
      ['empty value', 'password=""'],
      ['shell PWD', 'PWD=/home/jane/projects OLDPWD=~/src'],
      ['long identifier', 'createUserAccountWithEmailVerificationAndTwoFactor2FA'],
      ['path', '/home/User1/Projects/MyApp2024/src/components/Header.tsx'],
      ['SCREAMING_SNAKE', 'MY_VERY_LONG_CONFIGURATION_VARIABLE_NAME_FOR_2024'],
      ['URL path', 'see https://example.com/docs/GettingStarted/Installation2024/Overview'],
      ['short hex', 'commit abc1234'],
      ['31 hex', pseudoRandom(HEX, 31, 3)],
      ['letters only', 'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz'],
      ['hex without digits', 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef'],
      ['AKIA too long', 'AKIAIOSFODNN7EXAMPLEXX'],
      ['prose', 'The secret to good code is reading it.'],
      ['URL without a password', 'https://example.com:8080/x?q=a:b@c and ftp://host/a:b@c'],
      ['token as a word', 'Each token costs money; the token was revoked.'],
    ])('leaves %s alone: %j', (_label, input) => {
      expect(maskPii(input)).toBe(input);
    });
  });

  it('masks a mixed sentence', () => {
    const input =
      'Hi, I am Jane (jane.doe+vega@example.com, +1 (415) 555-2671). Card 4111-1111-1111-1111, ' +
      'IBAN DE89 3704 0044 0532 0130 00, server 10.0.0.12 / 2001:db8::7, api_key=abc123XYZ. ' +
      'Released v1.2.3 on 2024-01-15 at 12:30:45, total 1,234.56 EUR, id 550e8400-e29b-41d4-a716-446655440000.';
    expect(maskPii(input)).toBe(
      'Hi, I am Jane ([EMAIL], [PHONE]). Card [CARD], ' +
        'IBAN [IBAN], server [IP] / [IP], api_key=[SECRET]. ' +
        'Released v1.2.3 on 2024-01-15 at 12:30:45, total 1,234.56 EUR, id 550e8400-e29b-41d4-a716-446655440000.',
    );
  });

  it('reports counts per kind', () => {
    const { text, counts } = maskPiiWithStats(
      'a@b.co c@d.io 415-555-2671 4111 1111 1111 1111 GB82WEST12345698765432 ::1 10.0.0.1 password=x1 Bearer abcdef123456',
    );
    expect(text).toBe('[EMAIL] [EMAIL] [PHONE] [CARD] [IBAN] [IP] [IP] password=[SECRET] Bearer [SECRET]');
    expect(counts).toEqual({ email: 2, phone: 1, card: 1, iban: 1, ip: 2, secret: 2 });
  });

  it('reports no counts and returns the same text when nothing is found', () => {
    const input = 'Just a normal sentence about version 1.2.3 and 2024-01-15.';
    expect(maskPiiWithStats(input)).toEqual({ text: input, counts: {} });
    expect(maskPiiWithStats('')).toEqual({ text: '', counts: {} });
    expect(maskPii('Nothing to see here, just words.')).toBe('Nothing to see here, just words.');
  });

  it.each([
    'mail jane.doe@example.com, card 4111 1111 1111 1111',
    '+1 (415) 555-2671 and 020 7946 0958 and 415.555.2671',
    'DE89 3704 0044 0532 0130 00 EUR; GB82WEST12345698765432',
    '::ffff:192.0.2.1 fe80::1 10.0.0.1:80',
    `password: hunter2; Bearer abc.def.ghi123; ${JWT}; AKIAIOSFODNN7EXAMPLE`,
    '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----',
    'on 2024-01-15 415 555 2671 ext 12, 4111 1111 1111 1111 123',
    'api_key="[SECRET]" token=[SECRET] Bearer [SECRET] [EMAIL] [PHONE] [CARD] [IBAN] [IP]',
  ])('is idempotent on %j', (input) => {
    const once = maskPii(input);
    expect(maskPii(once)).toBe(once);
  });

  describe('validators', () => {
    it.each([
      ['4111111111111111', true],
      ['4111111111111112', false],
      ['378282246310005', true],
      ['5555555555554444', true],
      ['79927398713', true],
      ['0', false],
      ['41111111111111a1', false],
      ['4111 1111 1111 1111', false], // digits only
    ])('luhnValid(%j) = %s', (digits, expected) => {
      expect(luhnValid(digits)).toBe(expected);
    });

    it.each([
      ['DE89370400440532013000', true],
      ['DE89 3704 0044 0532 0130 00', true],
      ['GB82WEST12345698765432', true],
      ['GB82WEST12345698765433', false],
      ['NO9386011117947', true],
      ['DE8937040044053201300', false],
      ['XX00', false],
      ['1234567890123456', false],
    ])('ibanValid(%j) = %s', (iban, expected) => {
      expect(ibanValid(iban)).toBe(expected);
    });
  });

  // A guard against catastrophic backtracking, not a speed target: linear code masks 200 KB in a
  // few ms to tens of ms; a quadratic or exponential pattern would take minutes. The bound is
  // loose so that a busy machine cannot fail it.
  describe('no catastrophic backtracking', () => {
    const size = 200 * 1024;
    it.each([
      '1-',
      'a@',
      ':',
      'A1b2',
      '1 ',
      '12 ',
      '1.',
      'a.',
      'f:',
      '+1',
      '(1)',
      '7',
      ' ',
      'a',
      '4111 ',
      'password=',
      'password="',
      'a:',
      '-----BEGIN PRIVATE KEY-----',
      'DE89 ',
      'a.b@c.',
      'Bearer ',
      'eyJa.',
      '00 ',
      '1-2 ',
      '1 1-',
      'x://a:',
      'x://a:b',
    ])('masks 200 KB of %j repeated in well under 2 s', (unit) => {
      const input = unit.repeat(Math.ceil(size / unit.length));
      const started = performance.now();
      maskPii(input);
      expect(performance.now() - started).toBeLessThan(2000);
    });

    it('masks 200 KB of realistic mixed text in well under 2 s', () => {
      const line = 'Hi jane@example.com, call +1 (415) 555-2671, card 4111 1111 1111 1111, v1.2.3 on 2024-01-15. ';
      const input = line.repeat(Math.ceil(size / line.length));
      const started = performance.now();
      const out = maskPii(input);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(out).not.toMatch(/@example\.com|555-2671|4111/);
    });
  });
});
