import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TestApp, useAppWithFakeOllama } from '../support/test-app';

const STATIC = join(__dirname, '..', '..', 'static');
/** What Chrome and Firefox send when they load a page. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

describe('web UI files', () => {
  const env = useAppWithFakeOllama();
  let t: TestApp;

  beforeEach(async () => {
    t = await env.start();
  });

  it('serves static/index.html at / without a key, under the strict CSP, to a browser (it asks for HTML)', async () => {
    const res = await t.request('/', { key: null, headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self';");
    const html = await res.text();
    expect(html).toBe(readFileSync(join(STATIC, 'index.html'), 'utf8'));
  });

  it('has no inline script, style or event handler in the page', () => {
    const html = readFileSync(join(STATIC, 'index.html'), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });

  it('serves the assets under /static/ without a key, with their types', async () => {
    for (const [file, type] of [
      ['app.js', /javascript/],
      ['api.js', /javascript/],
      ['sse.js', /javascript/],
      ['markdown.js', /javascript/],
      ['research.js', /javascript/],
      ['username.js', /javascript/],
      ['tabs.js', /javascript/],
      ['tools.js', /javascript/],
      ['admin.js', /javascript/],
      ['admin-keys.js', /javascript/],
      ['admin-usage.js', /javascript/],
      ['app.css', /^text\/css/],
      ['favicon.svg', /^image\/svg\+xml/],
    ] as const) {
      const res = await t.request(`/static/${file}`, { key: null });
      expect({ file, status: res.status }).toEqual({ file, status: 200 });
      expect(res.headers.get('content-type')).toMatch(type);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await res.text()).toBe(readFileSync(join(STATIC, file), 'utf8'));
    }
  });

  it("serves chart.js from Vega itself (the installed package's UMD build), under the same strict CSP", async () => {
    const res = await t.request('/static/vendor/chart.umd.min.js', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const installed = join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
    expect(await res.text()).toBe(readFileSync(installed, 'utf8'));
    // The rest of the package, and of node_modules, stays out of reach.
    for (const path of ['/static/vendor/chart.js', '/static/vendor/chart.umd.min.js.map', '/static/vendor/../../package.json', '/static/vendor/']) {
      expect({ path, ok: (await t.request(path, { key: null })).ok }).toEqual({ path, ok: false });
    }
  });

  it('serves nothing outside static/ and no directory listing', async () => {
    for (const path of ['/static/', '/static/../package.json', '/static/%2e%2e/package.json', '/static/nope.js']) {
      const res = await t.request(path, { key: null });
      expect({ path, ok: res.ok }).toEqual({ path, ok: false });
      expect(await res.text()).not.toContain('"dependencies"');
    }
  });
});
