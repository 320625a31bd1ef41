import { ibanValid, luhnValid, maskPii, maskPiiWithStats } from '../../src/common/pii/pii-masker';

describe('maskPii', () => {
  it.each([
    ['jane.doe@example.com', '[EMAIL]'],
    ['write to j.doe+news@mail.example.co.uk today', 'write to [EMAIL] today'],
    ['call +1 (415) 555-2671 now', 'call [PHONE] now'],
    ['+44 20 7946 0958', '[PHONE]'],
    ['+49-30-123456', '[PHONE]'],
    ['(415) 555-2671', '[PHONE]'],
    ['415-555-2671', '[PHONE]'],
    ['415.555.2671', '[PHONE]'],
    ['020 7946 0958', '[PHONE]'],
    ['card 4111 1111 1111 1111 ok', 'card [CARD] ok'],
    ['4111-1111-1111-1111', '[CARD]'],
    ['5555555555554444', '[CARD]'],
    ['378282246310005', '[CARD]'],
    ['DE89 3704 0044 0532 0130 00', '[IBAN]'],
    ['iban GB82WEST12345698765432.', 'iban [IBAN].'],
    ['from 192.168.1.10 to 10.0.0.1', 'from [IP] to [IP]'],
    ['host 2001:db8::1 up', 'host [IP] up'],
    ['::1', '[IP]'],
    ['ping ::1.', 'ping [IP].'],
    ['fe80::1', '[IP]'],
    ['2001:0db8:85a3:0000:0000:8a2e:0370:7334', '[IP]'],
    ['::ffff:192.0.2.1', '[IP]'],
    ['key sk-proj-abcdefghijklmnop1234', 'key [SECRET]'],
    ['sk-ant-api03-abcdefghijklmnopqrstuv', '[SECRET]'],
    ['ghp_abcdefghijklmnopqrstuvwxyz0123456789', '[SECRET]'],
    ['github_pat_11ABCDEFG0123456789_abcdefghij', '[SECRET]'],
    ['xoxb-123456789012-abcdefghijkl', '[SECRET]'],
    ['AKIAIOSFODNN7EXAMPLE', '[SECRET]'],
    ['AIzaSyA-1234567890abcdefghijklmnopqrstu', '[SECRET]'],
    ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', '[SECRET]'],
    ['Authorization: Bearer abc.def-ghi_jkl123', 'Authorization: Bearer [SECRET]'],
    ['api_key=hunter2hunter2', 'api_key=[SECRET]'],
    ['PASSWORD: "correct horse"', 'PASSWORD: "[SECRET] horse"'],
    ['{"token": "abcd1234"}', '{"token": "[SECRET]"}'],
    ['client_secret = s3cr3tvalue', 'client_secret = [SECRET]'],
    ['hash d41d8cd98f00b204e9800998ecf8427e end', 'hash [SECRET] end'],
    ['blob Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MEFCQ0RFRkdISUpLTE1O end', 'blob [SECRET] end'],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----', '[SECRET]'],
  ])('masks %j', (input, expected) => {
    expect(maskPii(input)).toBe(expected);
  });

  it.each([
    ['the meeting is on 2024-01-15 at 12:30:45'],
    ['upgrade to v10.4.1 or 1.2.3'],
    ['it cost 1,234.56 dollars in 2023'],
    ['call extension 4521'],
    ['4111 1111 1111 1112'],
    ['1234567812345678'],
    ['GB82WEST12345698765433'],
    ['id 123e4567-e89b-12d3-a456-426614174000'],
    ['use std::vector and a::b in C++'],
    ['999.1.1.1 and 1.2.3.4.5'],
    ['see https://example.com/docs/getting-started/installation-guide/linux'],
    ['plain prose with nothing personal in it at all.'],
    ['ratio 10:20:30 and time 12:30'],
    ['a_very_long_identifier_name_written_in_snake_case_for_tests'],
    ['the token was revoked'],
  ])('leaves %j alone', (input) => {
    expect(maskPii(input)).toBe(input);
  });

  it('masks the kinds of a mixed sentence and counts them', () => {
    const { text, counts } = maskPiiWithStats(
      'Jane (jane@ex.com, +1 415 555 2671) paid with 4111 1111 1111 1111 from 203.0.113.9 using token=abcd1234',
    );
    expect(text).toBe('Jane ([EMAIL], [PHONE]) paid with [CARD] from [IP] using token=[SECRET]');
    expect(counts).toEqual({ email: 1, phone: 1, card: 1, ip: 1, secret: 1 });
  });

  it('masks an email and a card in the same prompt', () => {
    expect(maskPii('mail jane.doe@example.com, card 4111 1111 1111 1111')).toBe('mail [EMAIL], card [CARD]');
  });

  it('is idempotent', () => {
    const input = 'a@b.io Bearer abcdefgh123 token: xyzw9876 +44 20 7946 0958 ::1 DE89 3704 0044 0532 0130 00';
    const once = maskPii(input);
    expect(maskPii(once)).toBe(once);
  });

  it('returns text without anything sensitive unchanged', () => {
    expect(maskPii('')).toBe('');
    expect(maskPii('hello world')).toBe('hello world');
  });

  it.each([
    ['digits and dashes', '1-'.repeat(100_000)],
    ['at signs', 'a@'.repeat(100_000)],
    ['colons', ':'.repeat(200_000)],
    ['mixed case runs', 'A1b2'.repeat(50_000)],
    ['dots and digits', '1.'.repeat(100_000)],
    ['spaces and digits', '12 '.repeat(70_000)],
    ['a long local part', `${'a'.repeat(200_000)}@`],
  ])('stays fast on hostile input: %s', (_name, input) => {
    const started = performance.now();
    maskPii(input);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('luhnValid', () => {
  it.each([
    ['4111111111111111', true],
    ['4111111111111112', false],
    ['79927398713', true],
    ['12a4', false],
  ])('%s → %s', (digits, valid) => {
    expect(luhnValid(digits)).toBe(valid);
  });
});

describe('ibanValid', () => {
  it.each([
    ['DE89370400440532013000', true],
    ['DE89 3704 0044 0532 0130 00', true],
    ['GB82WEST12345698765432', true],
    ['GB82WEST12345698765433', false],
    ['XX00', false],
  ])('%s → %s', (iban, valid) => {
    expect(ibanValid(iban)).toBe(valid);
  });
});
