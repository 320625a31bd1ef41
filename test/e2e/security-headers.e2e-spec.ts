import { openSse } from '../support/sse-client';
import { TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';

const ALLOWED = 'http://localhost:5173';

function cspOf(res: { headers: Headers }): Map<string, string> {
  const header = res.headers.get('content-security-policy') ?? '';
  return new Map(
    header
      .split(';')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const [name, ...values] = part.split(/\s+/);
        return [name, values.join(' ')] as [string, string];
      }),
  );
}

function expectSecurityHeaders(headers: Headers | Record<string, unknown>): void {
  const get = (name: string) => (headers instanceof Headers ? headers.get(name) : (headers[name] as string | undefined));
  expect(get('x-content-type-options')).toBe('nosniff');
  expect(get('x-frame-options')).toBe('DENY');
  expect(get('referrer-policy')).toBe('no-referrer');
  expect(get('cross-origin-opener-policy')).toBe('same-origin');
  expect(get('content-security-policy')).toContain("script-src 'self'");
  expect(get('x-powered-by') ?? null).toBeNull();
}

describe('security headers and CORS', () => {
  const env = useAppWithFakeOllama();
  let t: TestApp;

  describe('headers', () => {
    beforeEach(async () => {
      t = await env.start();
    });

    it('sets them on JSON answers, errors and 404s', async () => {
      for (const [path, key, status] of [
        ['/healthz', null, 200],
        ['/history', TEST_API_KEY, 200],
        ['/history', null, 401],
        ['/no-such-route', TEST_API_KEY, 404],
      ] as const) {
        const res = await t.request(path, { key });
        expect({ path, status: res.status }).toEqual({ path, status });
        expectSecurityHeaders(res.headers);
      }
    });

    it('sets them on SSE streams, which write the raw response', async () => {
      const sse = await openSse(`${t.url}/chat/sse`, { body: { prompt: 'hi' }, headers: { 'x-api-key': TEST_API_KEY } });
      await sse.all();
      expect(sse.status).toBe(200);
      expectSecurityHeaders(sse.headers);
    });

    it('allows no inline script anywhere, and inline styles only on Swagger UI', async () => {
      const api = cspOf(await t.request('/healthz', { key: null }));
      expect(api.get('script-src')).toBe("'self'");
      expect(api.get('script-src-attr')).toBe("'none'");
      expect(api.get('style-src')).toBe("'self'");
      expect(api.get('object-src')).toBe("'none'");
      expect(api.get('frame-ancestors')).toBe("'none'");
      expect(api.has('upgrade-insecure-requests')).toBe(false);

      const docs = await t.request('/docs', { key: null });
      expect(docs.status).toBe(200);
      const page = await docs.text();
      const docsCsp = cspOf(docs);
      expect(docsCsp.get('script-src')).toBe("'self'");
      expect(docsCsp.get('style-src')).toBe("'self' 'unsafe-inline'");
      // Swagger UI loads every script as a file, which 'self' allows.
      const scripts = [...page.matchAll(/<script src="([^"]+)"/g)].map((match) => match[1]);
      expect(scripts.length).toBeGreaterThanOrEqual(3);
      expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      for (const src of scripts) {
        const asset = await t.request(new URL(src, `${t.url}/docs`).pathname, { key: null });
        expect({ src, status: asset.status }).toEqual({ src, status: 200 });
        await asset.arrayBuffer();
      }
      // The OpenAPI JSON is not the docs page: it keeps the strict policy.
      expect(cspOf(await t.request('/docs-json', { key: null })).get('style-src')).toBe("'self'");
    });

    it('answers no CORS headers when CORS_ORIGINS is empty', async () => {
      const simple = await t.request('/healthz', { key: null, headers: { origin: ALLOWED } });
      expect(simple.headers.get('access-control-allow-origin')).toBeNull();
      const preflight = await t.request('/chat', {
        method: 'OPTIONS',
        key: null,
        headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
      expect(preflight.headers.get('access-control-allow-headers')).toBeNull();
    });
  });

  describe('CORS_ORIGINS', () => {
    beforeEach(async () => {
      t = await env.start({ CORS_ORIGINS: `${ALLOWED},https://ui.example.com` });
    });

    it('answers the preflight of a listed origin, with the key header allowed', async () => {
      const preflight = await t.request('/chat', {
        method: 'OPTIONS',
        key: null,
        headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-api-key' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-api-key');
      expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    });

    it('lets a listed origin read answers (Retry-After exposed) and leaves others without CORS headers', async () => {
      const allowed = await t.request('/chat', { body: { prompt: 'hi' }, headers: { origin: ALLOWED } });
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(allowed.headers.get('access-control-expose-headers')).toContain('Retry-After');
      expect(allowed.headers.get('access-control-expose-headers')).toContain('X-Vega-Model');
      expect(allowed.headers.get('x-vega-model')).toBe('mistral');
      const other = await t.request('/chat', { body: { prompt: 'hi' }, headers: { origin: 'https://evil.example.net' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      expectSecurityHeaders(other.headers);
    });
  });
});
