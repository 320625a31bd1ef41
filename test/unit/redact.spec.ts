import { Writable } from 'node:stream';
import { AppLogger } from '../../src/core/logging/app-logger';
import { NestPinoLogger } from '../../src/core/logging/nest-pino.logger';
import { redact, redactText } from '../../src/core/logging/redact';

describe('redactText', () => {
  it.each([
    ['GET /nope?api_key=S1&x=1', 'GET /nope?api_key=[REDACTED]&x=1'],
    ['fetch http://h/v1/models?foo=1&X-Api-Key=S2#top failed', 'fetch http://h/v1/models?foo=1&X-Api-Key=[REDACTED]#top failed'],
    ['https://user:S3@example.com/path', 'https://user:[REDACTED]@example.com/path'],
    ['Authorization: Bearer S4.abc-_', 'Authorization: [REDACTED]'],
    ['sent Bearer S4b to the server', 'sent Bearer [REDACTED] to the server'],
    ['{"access_token":"S5","n":1}', '{"access_token":"[REDACTED]","n":1}'],
    ['"query":"{\\"api_key\\":\\"S6\\"}"', '"query":"{\\"api_key\\":\\"[REDACTED]\\"}"'],
    ["{ client_secret: 'S7' }", "{ client_secret: '[REDACTED]' }"],
  ])('%s', (text, expected) => {
    expect(redactText(text)).toBe(expected);
  });

  it('leaves text without a secret alone (the same string)', () => {
    const text = 'Listening on http://127.0.0.1:8000 (docs at /docs); the API key file is ./data/api-key';
    expect(redactText(text)).toBe(text);
  });
});

describe('redact', () => {
  it('censors key-like fields at any depth and returns the same object when there is nothing to censor', () => {
    const clean = { request_id: 'a', route: '/chat', status: 200 };
    expect(redact(clean)).toBe(clean);
    expect(redact({ headers: { 'X-API-Key': 'S1', accept: 'x' }, list: [{ refresh_token: 'S2' }] })).toEqual({
      headers: { 'X-API-Key': '[REDACTED]', accept: 'x' },
      list: [{ refresh_token: '[REDACTED]' }],
    });
  });
});

describe('AppLogger', () => {
  it('censors secrets in every line, whoever writes it: messages, fields, error stacks, Nest lines', () => {
    let out = '';
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => ((out += chunk.toString()), done()) });
    const logger = new AppLogger({ logLevel: 'debug' }, sink);
    logger.pino.info({ url: '/x?token=S1', authorization: 'Basic S2' }, 'GET /x?api_key=S3');
    const error = new Error('request to http://h/?key=S4 failed');
    logger.pino.error({ err: error }, 'failed');
    new NestPinoLogger(logger).error('boom at https://u:S5@h/', `Error: x\n    at /y?secret=S6`, 'HTTP');
    new NestPinoLogger(logger).debug({ api_key: 'S7' }, 'Ctx');
    const lines = out.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(4);
    expect(lines[1].err).toMatchObject({ type: 'Error', message: 'request to http://h/?key=[REDACTED] failed' });
    expect(out).toContain('[REDACTED]');
    expect(out).not.toMatch(/S[1-7]/);
  });
});
