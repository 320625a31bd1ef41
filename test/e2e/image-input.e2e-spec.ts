import { createHash } from 'node:crypto';
import { ImageResolver } from '../../src/core/llm/image-input';
import { FixtureServer } from '../support/fixture-server';
import { GIF, JPEG, PNG } from '../support/images';
import { TestApp, useAppWithFakeOllama } from '../support/test-app';

/**
 * Images given by URL, through the resolver of the real app (LlmModule's) and the outbound
 * fetcher's SSRF guard, against a local site. Loopback is allowed only where FETCH_ALLOW_HOSTS
 * names the site, as in the outbound fetcher's own tests.
 */
describe('ImageResolver: images given by URL', () => {
  const env = useAppWithFakeOllama();
  const site = new FixtureServer({
    '/cat.png': { headers: { 'content-type': 'image/png' }, body: PNG },
    '/photo': { headers: { 'content-type': 'application/octet-stream' }, body: JPEG },
    '/lying.png': { headers: { 'content-type': 'image/png' }, body: GIF },
    '/page': { body: '<html>not an image</html>' },
    '/big.png': { headers: { 'content-type': 'image/png' }, body: Buffer.concat([PNG, Buffer.alloc(64 * 1024)]) },
    '/slow.png': { headers: { 'content-type': 'image/png' }, body: PNG, delayMs: 5_000 },
    '/to-cat': { status: 302, headers: { location: '/cat.png' } },
    '/to-private': { status: 302, headers: { location: 'http://10.20.30.40/cat.png' } },
  });
  const field = 'messages.0.content.1.image_url.url';
  let t: TestApp;
  let resolver: ImageResolver;

  beforeAll(() => site.start());
  afterAll(() => site.stop());
  beforeEach(() => {
    site.requests.length = 0;
  });

  const refusal = async (url: string, signal?: AbortSignal) => {
    const error = await resolver.resolve(url, field, signal).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toMatchObject({ status: 400, param: field });
    return (error as Error).message;
  };

  describe('with the site allowed (FETCH_ALLOW_HOSTS)', () => {
    beforeEach(async () => {
      t = await env.start({ FETCH_ALLOW_HOSTS: `127.0.0.1:${site.port}`, IMAGE_MAX_BYTES: '4096', IMAGE_FETCH_TIMEOUT_SEC: '0.5' });
      resolver = t.app.get(ImageResolver);
    });

    it('fetches an image, asking for image types, and sniffs it', async () => {
      expect(await resolver.resolve(site.url('/cat.png'), field)).toEqual({
        mime: 'image/png',
        data: PNG.toString('base64'),
        bytes: PNG.length,
        sha256: createHash('sha256').update(PNG).digest('hex'),
      });
      expect(site.requests[0].headers.accept).toBe('image/png, image/jpeg, image/gif, image/webp');
    });

    it('takes the type from the bytes when the server says only application/octet-stream, and follows a redirect', async () => {
      expect((await resolver.resolve(site.url('/photo'), field)).mime).toBe('image/jpeg');
      expect((await resolver.resolve(site.url('/to-cat'), field)).mime).toBe('image/png');
    });

    it.each([
      ['/lying.png', 'the image is said to be image/png but its bytes are image/gif'],
      ['/page', 'not a PNG, JPEG, GIF or WebP image (served as text/html)'],
      ['/missing.png', (url: string) => `fetching ${url} answered HTTP 404`],
      ['/big.png', 'the image is larger than the 4096 bytes allowed (IMAGE_MAX_BYTES)'],
      ['/slow.png', (url: string) => `${url} was not fetched within 0.5 s (IMAGE_FETCH_TIMEOUT_SEC)`],
    ])('refuses %s with a 400 naming the field', async (path, reason) => {
      const url = site.url(path);
      expect(await refusal(url)).toBe(`${field}: ${typeof reason === 'string' ? reason : reason(url)}`);
    });

    it('refuses a redirect to a private address, without following it', async () => {
      expect(await refusal(site.url('/to-private'))).toBe(
        `${field}: Refused to fetch http://10.20.30.40/cat.png (redirected from ${site.url('/to-private')}): 10.20.30.40 is a private address. Private, loopback and link-local targets are blocked (FETCH_ALLOW_PRIVATE)`,
      );
      expect(site.requests.map((request) => request.path)).toEqual(['/to-private']);
    });

    it("stops at the caller's abort with the caller's reason", async () => {
      const controller = new AbortController();
      const reason = new Error('client went away');
      const pending = resolver.resolve(site.url('/slow.png'), field, controller.signal);
      for (let i = 0; i < 100 && site.requests.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
    });
  });

  describe('with the check on and nothing allowed', () => {
    beforeEach(async () => {
      t = await env.start({});
      resolver = t.app.get(ImageResolver);
    });

    it.each([
      ['127.0.0.1', () => site.url('/cat.png'), '127.0.0.1 is a loopback address'],
      ['localhost', () => `http://localhost:${site.port}/cat.png`, 'localhost resolves to'],
      ['a private address', () => 'http://192.168.1.10/cat.png', '192.168.1.10 is a private address'],
      ['the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data', '169.254.169.254 is the cloud metadata address'],
    ])('refuses %s with a 400 naming the field, before any packet is sent', async (_what, url, reason) => {
      const message = await refusal(url());
      expect(message.startsWith(`${field}: Refused to fetch `)).toBe(true);
      expect(message).toContain(reason);
      expect(site.requests).toHaveLength(0);
    });
  });
});
