import { createHash } from 'node:crypto';
import { loadConfig } from '../../src/config/app-config';
import { InvalidInputError } from '../../src/common/errors/app-errors';
import { ImageResolver, sniffImageType } from '../../src/core/llm/image-input';
import { SystemHostResolver } from '../../src/core/outbound/host-resolver';
import { OutboundFetcher } from '../../src/core/outbound/outbound-fetcher';
import { TargetGuard } from '../../src/core/outbound/target-guard';
import { dataUrl, GIF, JPEG, PNG, WEBP } from '../support/images';

/** Data URLs and bare base64: nothing here reaches the network. */
describe(ImageResolver.name, () => {
  const config = loadConfig({ IMAGE_MAX_BYTES: '2048' });
  const fetcher = new OutboundFetcher(config, new TargetGuard(config, new SystemHostResolver()));
  const resolver = new ImageResolver(config, fetcher);
  const field = 'messages.0.content.1.image_url.url';
  afterAll(() => fetcher.onApplicationShutdown());

  const refusal = async (source: string) => {
    const error = await resolver.resolve(source, field).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({ status: 400, param: field });
    return (error as Error).message;
  };

  describe('sniffImageType', () => {
    it.each([
      ['image/png', PNG],
      ['image/jpeg', JPEG],
      ['image/gif', GIF],
      ['image/webp', WEBP],
    ])('knows %s by its magic bytes', (mime, bytes) => {
      expect(sniffImageType(bytes)).toBe(mime);
    });

    it.each([
      ['text', Buffer.from('hello, world')],
      ['a RIFF file that is not WebP (WAV)', Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WAVEfmt ')])],
      ['GIF without its version', Buffer.from('GIF8')],
      ['nothing', Buffer.alloc(0)],
    ])('knows nothing in %s', (_what, bytes) => {
      expect(sniffImageType(bytes)).toBeUndefined();
    });
  });

  describe('resolve', () => {
    it('decodes a data URL into base64 without its prefix, the sniffed type, size and SHA-256', async () => {
      expect(await resolver.resolve(dataUrl('image/png', PNG), field)).toEqual({
        mime: 'image/png',
        data: PNG.toString('base64'),
        bytes: PNG.length,
        sha256: createHash('sha256').update(PNG).digest('hex'),
      });
    });

    it.each([
      ['bare base64', JPEG.toString('base64'), 'image/jpeg'],
      ['base64 with line breaks', GIF.toString('base64').replace(/(.{8})/g, '$1\n'), 'image/gif'],
      ['URL-safe base64', WEBP.toString('base64url'), 'image/webp'],
      ['a data URL that names no type', `data:;base64,${PNG.toString('base64')}`, 'image/png'],
      ['image/jpg (a common misspelling)', dataUrl('image/jpg', JPEG), 'image/jpeg'],
      ['an upper-case data URL with extra parameters', `DATA:IMAGE/PNG;name=a.png;base64,${PNG.toString('base64')}`, 'image/png'],
    ])('accepts %s', async (_what, source, mime) => {
      const image = await resolver.resolve(source, field);
      expect(image.mime).toBe(mime);
      expect(Buffer.from(image.data, 'base64').length).toBe(image.bytes);
    });

    it.each([
      ['a data URL whose type is not what the bytes are', dataUrl('image/png', JPEG), `${field}: the image is said to be image/png but its bytes are image/jpeg`],
      ['a data URL of another type', dataUrl('image/svg+xml', Buffer.from('<svg/>')), `${field}: the data URL's type image/svg+xml is not a supported image type (PNG, JPEG, GIF or WebP)`],
      ['a data URL that is not base64', 'data:image/png,%89PNG', `${field}: a data URL must be base64-encoded (data:image/png;base64,…)`],
      ['base64 of text', Buffer.from('not an image at all').toString('base64'), `${field}: not a PNG, JPEG, GIF or WebP image`],
      ['something that is not base64', 'hello world!', `${field}: not an image: expected a data URL, an http(s) URL or base64 image data`],
      ['an empty string', '  ', `${field}: the image is empty`],
      ['an empty data URL', 'data:image/png;base64,', `${field}: the image is empty`],
      ['a file URL', 'file:///etc/passwd', `${field}: not an image: expected a data URL, an http(s) URL or base64 image data`],
    ])('refuses %s with a 400 naming the field', async (_what, source, message) => {
      expect(await refusal(source)).toBe(message);
    });

    it('refuses an image over IMAGE_MAX_BYTES before decoding it, and takes one at the limit', async () => {
      const over = Buffer.concat([PNG, Buffer.alloc(2049 - PNG.length)]);
      expect(await refusal(dataUrl('image/png', over))).toBe(`${field}: the image is 2049 bytes, more than the 2048 bytes allowed (IMAGE_MAX_BYTES)`);
      const huge = 'A'.repeat(28 * 1024 * 1024);
      expect(await refusal(huge)).toMatch(/the image is \d+ bytes, more than the 2048 bytes allowed \(IMAGE_MAX_BYTES\)$/);
      const at = Buffer.concat([PNG, Buffer.alloc(2048 - PNG.length)]);
      expect((await resolver.resolve(dataUrl('image/png', at), field)).bytes).toBe(2048);
    });
  });
});

describe('loadConfig: images', () => {
  it('defaults to 10 MiB and 10 s', () => {
    expect(loadConfig({}).images).toEqual({ maxBytes: 10 * 1024 * 1024, fetchTimeoutMs: 10_000 });
    expect(loadConfig({ IMAGE_MAX_BYTES: '5000', IMAGE_FETCH_TIMEOUT_SEC: '2.5' }).images).toEqual({ maxBytes: 5000, fetchTimeoutMs: 2500 });
  });

  it.each([
    [{ IMAGE_MAX_BYTES: '10' }, 'IMAGE_MAX_BYTES must be an integer between 1024 and 100000000'],
    [{ IMAGE_MAX_BYTES: 'lots' }, 'IMAGE_MAX_BYTES must be an integer between 1024 and 100000000'],
    [{ IMAGE_FETCH_TIMEOUT_SEC: '0' }, 'IMAGE_FETCH_TIMEOUT_SEC must be a number between 0.01 and 600'],
  ])('refuses %p', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
