import { ApiKeyStore, type KeyLookup } from '../../src/common/auth/api-key-store';
import { FakeOllama } from '../support/fake-ollama';
import { Metrics } from '../support/prometheus';
import { TEST_API_KEY, TestApp, TestResponse, useAppWithFakeOllama } from '../support/test-app';
import { VegaProcess } from '../support/vega-process';

const guess = (i: number) => `guess-${String(i).padStart(3, '0')}-0123456789abcdef`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Someone guessing keys from one address (loopback here), as the per-address failure limit sees it. */
describe('failed API-key attempts, per client address', () => {
  const env = useAppWithFakeOllama();
  const fake = env.fake;
  let t: TestApp;

  const expectRefusal = async (res: TestResponse, windowSec: number) => {
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(windowSec);
    return retryAfter;
  };

  it('answers 401 to the first AUTH_FAILURE_LIMIT wrong keys (20 by default), then 429 with Retry-After, the right key too', async () => {
    t = await env.start();
    const statuses: number[] = [];
    for (let i = 0; i < 25; i += 1) {
      const res = await t.request('/chat', { body: { prompt: `p${i}` }, key: guess(i) });
      statuses.push(res.status);
      if (res.status === 429) {
        await expectRefusal(res, 60);
        expect(await res.json()).toEqual({
          statusCode: 429,
          error: 'Too Many Requests',
          message: expect.stringMatching(/^Too many failed API-key attempts from this address: retry in \d+ s$/),
        });
      } else {
        expect(await res.json()).toMatchObject({ statusCode: 401, message: 'Invalid API key' });
      }
    }
    expect(statuses).toEqual([...Array<number>(20).fill(401), ...Array<number>(5).fill(429)]);

    // Refused before the key is checked: the right key from the blocked address waits as well,
    // or a guesser could tell a right guess (200) from wrong ones (429) and go on at full speed.
    await expectRefusal(await t.request('/chat', { body: { prompt: 'right' } }), 60);
    await expectRefusal(await t.request('/history', { key: TEST_API_KEY }), 60);
    // Probes and metrics are not rate limited.
    expect((await t.request('/healthz', { key: null })).status).toBe(200);
    expect((await t.request('/metrics', { key: null })).status).toBe(200);
    expect(fake.chatRequests()).toHaveLength(0);
  });

  it('admits the right key again once the failures have left AUTH_FAILURE_WINDOW_SEC', async () => {
    t = await env.start({ AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW_SEC: '1' });
    for (let i = 0; i < 3; i += 1) expect((await t.request('/history', { key: guess(i) })).status).toBe(401);
    const retryAfter = await expectRefusal(await t.request('/history', { key: guess(3) }), 1);
    await expectRefusal(await t.request('/history'), 1);
    await sleep(retryAfter * 1000 + 100);
    expect((await t.request('/history')).status).toBe(200);
  });

  it('counts wrong keys on every guarded route, not only the chat ones', async () => {
    t = await env.start({ AUTH_FAILURE_LIMIT: '4' });
    const routes = ['/history', '/admin/status', '/session/abc', '/models'];
    for (const [i, route] of routes.entries()) expect((await t.request(route, { key: guess(i) })).status).toBe(401);
    await expectRefusal(await t.request('/admin/gen', { key: guess(9) }), 60);
  });

  it('refuses under /v1/ in OpenAI’s error shape', async () => {
    t = await env.start({ AUTH_FAILURE_LIMIT: '2' });
    for (let i = 0; i < 2; i += 1) {
      const res = await t.request('/v1/models', { key: null, headers: { authorization: `Bearer ${guess(i)}` } });
      expect(res.status).toBe(401);
      expect((await res.json()).error).toMatchObject({ code: 'invalid_api_key' });
    }
    const limited = await t.request('/v1/chat/completions', {
      key: null,
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
      body: { model: 'mistral', messages: [{ role: 'user', content: 'x' }] },
    });
    await expectRefusal(limited, 60);
    expect(await limited.json()).toEqual({
      error: {
        message: expect.stringMatching(/^Too many failed API-key attempts from this address: retry in \d+ s$/),
        type: 'requests',
        param: null,
        code: 'rate_limit_exceeded',
      },
    });
  });

  it('does not count requests without a key (nothing is guessed), and AUTH_FAILURE_LIMIT=0 turns the limit off', async () => {
    t = await env.start({ AUTH_FAILURE_LIMIT: '2' });
    for (let i = 0; i < 5; i += 1) expect((await t.request('/history', { key: null })).status).toBe(401);
    expect((await t.request('/history')).status).toBe(200);
    await t.close();

    t = await env.start({ AUTH_FAILURE_LIMIT: '0' });
    for (let i = 0; i < 30; i += 1) expect((await t.request('/history', { key: guess(i) })).status).toBe(401);
    expect((await t.request('/history')).status).toBe(200);
  });

  it('counts failed authentications by reason in vega_auth_failures_total, and logs none of the keys', async () => {
    const REVOKED = 'revoked-key-0123456789abcdef';
    const EXPIRED = 'expired-key-0123456789abcdef';
    /** Keys that were issued once: the database adapter's refusals, without the database. */
    class RefusingStore extends ApiKeyStore {
      identify(secret: string): Promise<KeyLookup | null> {
        if (secret === REVOKED) return Promise.resolve({ refused: 'revoked', keyId: 'k-revoked', at: '2026-12-01T00:00:00.000Z' });
        if (secret === EXPIRED) return Promise.resolve({ refused: 'expired', keyId: 'k-expired', at: '2026-12-02T00:00:00.000Z' });
        return Promise.resolve(null);
      }
    }
    t = await env.start({ AUTH_FAILURE_LIMIT: '4', LOG_LEVEL: 'debug' }, { keyStores: [new RefusingStore()] });
    const scrape = async () => new Metrics(await (await t.request('/metrics', { key: null })).text());
    const before = await scrape();
    for (const reason of ['missing', 'invalid', 'revoked', 'expired', 'blocked']) {
      expect({ reason, value: before.value('vega_auth_failures_total', { reason }) }).toEqual({ reason, value: 0 });
    }

    expect((await t.request('/history', { key: null })).status).toBe(401);
    expect((await t.request('/history', { key: guess(1) })).status).toBe(401);
    expect((await t.request('/v1/models', { key: null, headers: { authorization: `Bearer ${guess(2)}` } })).status).toBe(401);
    const revoked = await t.request('/history', { key: REVOKED });
    expect({ status: revoked.status, message: (await revoked.json()).message }).toEqual({ status: 401, message: 'This API key was revoked at 2026-12-01T00:00:00.000Z' });
    expect((await t.request('/history', { key: EXPIRED })).status).toBe(401);
    // The fourth refused key used up the address's budget: what follows is blocked before its key is read.
    expect((await t.request('/history', { key: guess(3) })).status).toBe(429);
    expect((await t.request('/history')).status).toBe(429);

    const after = await scrape();
    const counted = Object.fromEntries(['missing', 'invalid', 'revoked', 'expired', 'blocked'].map((reason) => [reason, after.value('vega_auth_failures_total', { reason })]));
    expect(counted).toEqual({ missing: 1, invalid: 2, revoked: 1, expired: 1, blocked: 2 });
    expect(t.logs.length).toBeGreaterThan(0);
    for (const secret of [guess(1), guess(2), guess(3), REVOKED, EXPIRED, TEST_API_KEY]) {
      expect({ secret, logged: t.logs.some((line) => line.includes(secret)) }).toEqual({ secret, logged: false });
    }
  });
});

describe('the log of a blocked address (stdout of the real process)', () => {
  const fake = new FakeOllama();
  const vega = new VegaProcess();

  beforeAll(() => fake.start());
  afterAll(async () => {
    await vega.dispose();
    await fake.stop();
  });

  it('says once which address is refused and for how long, never the keys it tried', async () => {
    await vega.start({ OLLAMA_URL: fake.url, LOG_LEVEL: 'info', HEALTH_PROBE_SECONDS: '60', AUTH_FAILURE_LIMIT: '3' });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      const res = await fetch(`${vega.url}/history`, { headers: { 'x-api-key': `KEY-MARKER-${guess(i)}` } });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429, 429]);
    vega.signal('SIGTERM');
    await vega.exited();
    const blocked = vega.logLines().filter((line) => typeof line.msg === 'string' && line.msg.includes('failed API-key attempts'));
    expect(blocked).toEqual([
      expect.objectContaining({
        level: 40,
        msg: expect.stringMatching(/^Too many failed API-key attempts from 127\.0\.0\.1 \(3 within 60 s\): its requests are refused for \d+ s$/),
      }),
    ]);
    expect(vega.stdout).not.toContain('KEY-MARKER');
    expect(vega.stderr).not.toContain('KEY-MARKER');
    expect(vega.stdout).not.toContain(vega.apiKey);
  });
});
